; Seed 004, nested half: the L1 hypervisor of nested-vmx-l1.asm runs an L2 that falls into the
; endless #DB chain of seed004-notify-db-loop.asm (a write breakpoint on its own IST frame). With
; a notify window L0 sees NOTIFY exits from L2 that are never shown to L1. If L0's userspace turns
; one into a SHUTDOWN (KVM_SET_VCPU_EVENTS), L1 gets EXIT_REASON_TRIPLE_FAULT: it writes 'T' and
; ends with exit code 2 on port 0xF4. Any other exit: 'X' and the exit reason byte. Needs
; vm.nested and vm.interceptAcDb false. L2 writes 'S' before its breakpoint fires.
bits 64
org 0x100000

%include "nested-vmx-setup.inc"
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
