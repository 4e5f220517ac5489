; A small L1 hypervisor (needs vm.nested). It turns VMX on (CR4.VMXE, IA32_FEATURE_CONTROL,
; VMXON), builds a VMCS for an L2 guest that shares its page tables, launches it and handles its
; exits: CPUID (leaf 0x4c31 answers 0x12345678), VMCALL (RAX + 1), I/O to port 0x80 (its I/O
; bitmap intercepts only that port: L2's port 0xE9 writes go straight to L0's userspace) and HLT,
; which ends L2: VMXOFF and exit code 0 on port 0xF4. L1 writes a letter per exit to port 0xE9:
; C(PUID) V(MCALL) I(O) H(LT); L2 writes a b c d as it goes. Anything unexpected: 'X' and the
; exit reason byte, a failed VMLAUNCH: 'F'.
bits 64
org 0x100000

%include "nested-vmx-setup.inc"
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
