; A small L1 hypervisor (needs vm.nested). It turns VMX on (CR4.VMXE, IA32_FEATURE_CONTROL,
; VMXON), builds a VMCS for an L2 guest that shares its page tables, launches it and handles its
; exits: CPUID (leaf 0x4c31 answers 0x12345678), VMCALL (RAX + 1), I/O to port 0x80 (its I/O
; bitmap intercepts only that port: L2's port 0xE9 writes go straight to L0's userspace) and HLT,
; which ends L2: VMXOFF and exit code 0 on port 0xF4. L1 writes a letter per exit to port 0xE9:
; C(PUID) V(MCALL) I(O) H(LT); L2 writes a b c d as it goes. Anything unexpected: 'X' and the
; exit reason byte, a failed VMLAUNCH: 'F'.
bits 64
org 0x100000

VMXON_REGION equ 0x200000
VMCS_REGION  equ 0x201000
IO_BITMAP_A  equ 0x202000
IO_BITMAP_B  equ 0x203000
L2_STACK     equ 0x210000
L1_STACK     equ 0x220000
L2_RESULT    equ 0x230000   ; what L1 saw on port 0x80

%macro VMW 2
    mov edx, %1
    mov rax, %2
    vmwrite rdx, rax
%endmacro
%macro VMR 1
    mov edx, %1
    vmread rax, rdx
%endmacro

start:
    lgdt [rel gdtr]
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov ax, 0x18
    ltr ax
    mov rsp, L1_STACK
    ; CR0.NE (a VMX fixed-1 bit), CR4.VMXE and IA32_FEATURE_CONTROL (locked, VMX outside SMX)
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
    ; revision identifier from IA32_VMX_BASIC into both regions
    mov ecx, 0x480
    rdmsr
    mov [VMXON_REGION], eax
    mov [VMCS_REGION], eax
    ; I/O bitmaps: only port 0x80 exits to L1
    mov byte [IO_BITMAP_A + 0x10], 1
    mov rax, VMXON_REGION
    mov [ptr], rax
    vmxon [ptr]
    jbe fail
    mov rax, VMCS_REGION
    mov [ptr], rax
    vmclear [ptr]
    vmptrld [ptr]
    jbe fail
    ; controls: the TRUE MSRs' must-be-one bits plus what we want
    mov ecx, 0x48d
    rdmsr
    VMW 0x4000, rax                       ; PIN_BASED_VM_EXEC_CONTROL
    mov ecx, 0x48e
    rdmsr
    or eax, (1 << 7) | (1 << 25)          ; HLT exiting, use I/O bitmaps
    VMW 0x4002, rax                       ; CPU_BASED_VM_EXEC_CONTROL
    mov ecx, 0x48f
    rdmsr
    or eax, 1 << 9                        ; host address-space size
    VMW 0x400c, rax                       ; VM_EXIT_CONTROLS
    mov ecx, 0x490
    rdmsr
    or eax, 1 << 9                        ; IA-32e mode guest
    VMW 0x4012, rax                       ; VM_ENTRY_CONTROLS
    VMW 0x4004, 0                         ; EXCEPTION_BITMAP
    VMW 0x2000, IO_BITMAP_A
    VMW 0x2002, IO_BITMAP_B
    VMW 0x2800, -1                        ; VMCS_LINK_POINTER
    ; host state: this L1
    mov rbx, cr0
    VMW 0x6c00, rbx
    mov rbx, cr3
    VMW 0x6c02, rbx
    mov rbx, cr4
    VMW 0x6c04, rbx
    VMW 0x0c00, 0x10                      ; ES
    VMW 0x0c02, 0x08                      ; CS
    VMW 0x0c04, 0x10                      ; SS
    VMW 0x0c06, 0x10                      ; DS
    VMW 0x0c08, 0                         ; FS
    VMW 0x0c0a, 0                         ; GS
    VMW 0x0c0c, 0x18                      ; TR
    VMW 0x6c0a, tss                       ; HOST_TR_BASE
    VMW 0x6c0c, gdt                       ; HOST_GDTR_BASE
    VMW 0x6c0e, 0                         ; HOST_IDTR_BASE
    VMW 0x6c14, L1_STACK                  ; HOST_RSP
    VMW 0x6c16, l1_exit                   ; HOST_RIP
    ; guest state: a 64-bit L2 on the same page tables
    mov rbx, cr0
    VMW 0x6800, rbx
    mov rbx, cr3
    VMW 0x6802, rbx
    mov rbx, cr4
    VMW 0x6804, rbx
    VMW 0x0802, 0x08                      ; CS
    VMW 0x4816, 0xa09b
    VMW 0x4802, 0xffffffff
    VMW 0x6808, 0
    VMW 0x0800, 0x10                      ; ES
    VMW 0x4814, 0xc093
    VMW 0x4800, 0xffffffff
    VMW 0x0804, 0x10                      ; SS
    VMW 0x4818, 0xc093
    VMW 0x4804, 0xffffffff
    VMW 0x0806, 0x10                      ; DS
    VMW 0x481a, 0xc093
    VMW 0x4806, 0xffffffff
    VMW 0x481c, 0x10000                   ; FS, GS, LDTR unusable
    VMW 0x481e, 0x10000
    VMW 0x4820, 0x10000
    VMW 0x080e, 0x18                      ; TR
    VMW 0x4822, 0x8b
    VMW 0x480e, 0x67
    VMW 0x6814, tss
    VMW 0x6816, gdt                       ; GDTR
    VMW 0x4810, gdtr - gdt - 1
    VMW 0x6818, 0                         ; IDTR
    VMW 0x4812, 0xfff
    VMW 0x681c, L2_STACK                  ; RSP
    VMW 0x681e, l2_entry                  ; RIP
    VMW 0x6820, 2                         ; RFLAGS
    VMW 0x2806, 0x500                     ; GUEST_IA32_EFER (LMA | LME)
    vmlaunch
fail:
    mov al, 'F'
    out 0xe9, al
    hlt
    jmp fail

l1_exit:
    VMR 0x4402                            ; VM_EXIT_REASON
    cmp eax, 10
    je .cpuid
    cmp eax, 18
    je .vmcall
    cmp eax, 30
    je .io
    cmp eax, 12
    je .hlt
    mov bl, al
    mov al, 'X'
    out 0xe9, al
    mov al, bl
    out 0xe9, al
    hlt
.cpuid:
    mov al, 'C'
    out 0xe9, al
    mov eax, 0x12345678
    jmp .skip
.vmcall:
    mov al, 'V'
    out 0xe9, al
    mov rax, [rel saved_rax]
    inc rax
    jmp .skip
.io:
    mov al, 'I'
    out 0xe9, al
    VMR 0x6400                            ; EXIT_QUALIFICATION: port in 31:16
    shr eax, 16
    mov [L2_RESULT], eax
    mov rax, [rel saved_rax]
    mov [L2_RESULT + 4], al
    jmp .skip
.hlt:
    mov al, 'H'
    out 0xe9, al
    vmxoff
    mov al, 0
    out 0xf4, al
    hlt
.skip:                                    ; RIP += VM_EXIT_INSTRUCTION_LEN, then VMRESUME
    mov [rel saved_rax], rax
    VMR 0x440c
    mov rbx, rax
    VMR 0x681e
    add rax, rbx
    mov rbx, rax
    mov edx, 0x681e
    vmwrite rdx, rbx
    mov rax, [rel saved_rax]
    vmresume
    jmp fail

l2_entry:                                 ; L2: RAX is saved by L1 around its own use
    mov al, 'a'
    out 0xe9, al                          ; not in L1's bitmap: L0 userspace
    mov eax, 0x4c31
    mov [rel saved_rax], rax
    cpuid
    cmp eax, 0x12345678
    jne l2_bad
    mov al, 'b'
    out 0xe9, al
    mov eax, 5
    mov [rel saved_rax], rax
    vmcall
    cmp eax, 6
    jne l2_bad
    mov al, 'c'
    out 0xe9, al
    mov eax, 0x42
    mov [rel saved_rax], rax
    out 0x80, al                          ; L1's bitmap: an exit to L1
    mov al, 'd'
    out 0xe9, al
    hlt
l2_bad:
    mov al, '!'
    out 0xe9, al
    hlt

align 8
saved_rax: dq 0
ptr: dq 0
gdt:
    dq 0
    dq 0x00af9a000000ffff    ; 0x08 code64
    dq 0x00cf92000000ffff    ; 0x10 data
    dw 0x67, tss & 0xffff    ; 0x18 64-bit TSS (available)
    db (tss >> 16) & 0xff, 0x89, 0, (tss >> 24) & 0xff
    dd 0, 0
gdtr:
    dw gdtr - gdt - 1
    dq gdt
align 16
tss:
    times 0x68 db 0
