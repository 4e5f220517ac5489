; Seed 004, nested half: the L1 hypervisor of nested-vmx-l1.asm runs an L2 that falls into the
; endless #DB chain of seed004-notify-db-loop.asm (a write breakpoint on its own IST frame). With
; a notify window L0 sees NOTIFY exits from L2 that are never shown to L1. If L0's userspace turns
; one into a SHUTDOWN (KVM_SET_VCPU_EVENTS), L1 gets EXIT_REASON_TRIPLE_FAULT: it writes 'T' and
; ends with exit code 2 on port 0xF4. Any other exit: 'X' and the exit reason byte. Needs
; vm.nested and vm.interceptAcDb false. L2 writes 'S' before its breakpoint fires.
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
    VMW 0x6818, l2_idt                    ; IDTR
    VMW 0x4812, l2_idtr - l2_idt - 1
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
    cmp eax, 2
    je .triple
    mov bl, al
    mov al, 'X'
    out 0xe9, al
    mov al, bl
    out 0xe9, al
    hlt
.triple:
    mov al, 'T'
    out 0xe9, al
    vmxoff
    mov al, 2
    out 0xf4, al
    hlt

L2_FRAME equ L2_STACK - 8
l2_entry:                                 ; seed004-notify-db-loop.asm, as L2
    mov rax, L2_FRAME                     ; where #DB's frame starts (the SS slot)
    mov dr0, rax
    mov eax, (1 << 0) | (1 << 16) | (3 << 18) ; L0, R/W0 = 01 (writes), LEN0 = 11 (4 bytes)
    mov dr7, rax
    mov al, 'S'
    out 0xe9, al
    mov dword [L2_FRAME], 0               ; hits DR0: a #DB trap after this instruction
l2_done:
    jmp l2_done
l2_db_handler:                            ; never reached
    iretq

align 16
l2_idt:
    dq 0, 0
    dw l2_db_handler & 0xffff, 8, 0x8e01, (l2_db_handler >> 16) & 0xffff  ; #DB: interrupt gate, IST1
    dd 0, 0
l2_idtr:

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
tss:                                      ; IST1 = L2_STACK (the #DB frame of L2)
    dd 0
    dq 0, 0, 0
    dq 0
    dq L2_STACK
    times 6 dq 0
    dd 0, 0
    dw 0, 0x68
