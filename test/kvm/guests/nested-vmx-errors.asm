; VMX instruction outcomes as an L1 sees them (nested.c): VMsucceed, VMfailInvalid (CF) and
; VMfailValid (ZF with VM_INSTRUCTION_ERROR). Each step records {CF|ZF of RFLAGS, the error field}
; as two dwords at RESULTS. It ends with a VMREAD after VMXOFF: #UD, which without an IDT is a
; shutdown. Needs vm.nested.
bits 64
org 0x100000
VMXON_REGION equ 0x200000
VMCS_A       equ 0x201000
VMCS_BAD     equ 0x202000
RESULTS      equ 0x240000
SCRATCH      equ 0x248000

%macro REC 0
    pushfq
    pop rax
    and eax, 0x41
    mov [rdi], eax
    mov edx, 0x4400
    xor eax, eax
    vmread rax, rdx
    mov [rdi + 4], eax
    add rdi, 8
%endmacro

start:
    mov rdi, RESULTS
    mov rax, cr0
    or eax, 1 << 5
    mov cr0, rax
    mov rax, cr4
    or eax, 1 << 13
    mov cr4, rax
    mov ecx, 0x3a
    mov eax, 5
    xor edx, edx
    wrmsr
    mov ecx, 0x480
    rdmsr
    mov [VMXON_REGION], eax
    mov [VMCS_A], eax
    mov dword [VMCS_BAD], 0x1234
    mov rax, VMXON_REGION
    mov [p_on], rax
    mov rax, VMCS_A
    mov [p_a], rax
    mov rax, VMCS_BAD
    mov [p_bad], rax
    vmxon [p_on]
    REC                                 ; 0: VMXON succeeds
    vmptrst [SCRATCH]                   ; no current VMCS: all ones
    vmlaunch
    REC                                 ; 1: VMLAUNCH without a current VMCS: VMfailInvalid
    vmclear [p_a]
    vmptrld [p_a]
    REC                                 ; 2: VMPTRLD succeeds
    vmptrld [p_bad]
    REC                                 ; 3: wrong revision: VMfailValid 11
    mov edx, 0x1234
    vmread rax, rdx
    REC                                 ; 4: unsupported field: 12
    mov edx, 0x4402
    vmwrite rdx, rax
    REC                                 ; 5: read-only field: 13
    vmxon [p_on]
    REC                                 ; 6: VMXON in VMX root operation: 15
    vmresume
    REC                                 ; 7: VMRESUME of a clear VMCS: 5
    vmlaunch
    REC                                 ; 8: PIN_BASED_VM_EXEC_CONTROL 0 lacks its must-be-one bits: 7
    vmptrld [p_on]
    REC                                 ; 9: the VMXON pointer: 10
    vmclear [p_on]
    REC                                 ; 10: 3
    vmptrst [SCRATCH + 8]               ; the current VMCS
    mov edx, 0x2800
    mov rax, -1
    vmwrite rdx, rax                    ; VMCS_LINK_POINTER all ones
    vmread rbx, rdx
    mov [SCRATCH + 16], rbx
    mov edx, 0x2801                     ; its high half
    vmread rbx, rdx
    mov [SCRATCH + 24], rbx
    REC                                 ; 11: succeeds (the error field keeps 10)
    vmxoff
    pushfq                              ; 12: VMXOFF succeeds
    pop rax
    and eax, 0x41
    mov [rdi], eax
    mov al, 0
    out 0xe9, al
    mov edx, 0x4400
    vmread rax, rdx                     ; outside VMX operation: #UD, and without an IDT a shutdown
    hlt

align 8
p_on: dq 0
p_a: dq 0
p_bad: dq 0
