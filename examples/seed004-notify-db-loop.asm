; Seed 004: an endless #DB chain. DR0 is a write breakpoint on the IST1 stack slot where #DB's
; frame begins; every #DB delivery pushes its frame there, so another #DB trap is pending before
; the handler's first instruction, forever (CVE-2015-8104). Unlike the #AC loop, each delivery
; completes (CS:RIP, SS:RSP and RFLAGS change), so a notify exit can interrupt a delivery that
; already changed guest state: with an odd notifyWindow it lands after such a commit (VM context
; invalid, KVM_EXIT_NOTIFY with KVM_NOTIFY_CONTEXT_INVALID even without notifyUser); with an even
; one at the start of a delivery (valid). Needs vm.interceptAcDb false (KVM intercepts #DB).
; Debug port: 'S' before the breakpoint fires.
bits 64
org 0x100000
STACK equ 0x90000
start:
    lgdt [rel gdtr]
    mov ax, 0x18
    ltr ax
    lidt [rel idtr]
    mov rax, STACK - 8       ; where #DB's frame starts (the SS slot)
    mov dr0, rax
    mov eax, (1 << 0) | (1 << 16) | (3 << 18) ; L0, R/W0 = 01 (writes), LEN0 = 11 (4 bytes)
    mov dr7, rax
    mov al, 'S'
    out 0xe9, al
    mov dword [STACK - 8], 0 ; hits DR0: a #DB trap after this instruction
done:
    jmp done
db_handler:                  ; never reached: a new #DB is pending at its first instruction
    iretq

align 8
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
tss:
    dd 0
    dq 0, 0, 0               ; RSP0-2
    dq 0
    dq STACK                 ; IST1
    times 6 dq 0
    dd 0, 0
    dw 0, 0x68
align 16
idt:
    dq 0, 0
    dw db_handler & 0xffff, 8, 0x8e01, (db_handler >> 16) & 0xffff  ; #DB: interrupt gate, IST1
    dd 0, 0
idtr:
    dw idtr - idt - 1
    dq idt
