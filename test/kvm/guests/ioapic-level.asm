; 32-bit protected mode, the 8259s masked: IOAPIC pin 10 programmed level-triggered, vector 0x50,
; physical destination APIC 0. The guest raises ISA IRQ 10 itself through pc-testdev's line port
; (0x2000 + 10); its handler prints the pin's Remote IRR bit, drops the line, sends the LAPIC EOI
; and prints Remote IRR again. Three rounds, then exit.
bits 32
org 0x100000
    cli
    lidt [idtr]
    mov esp, 0x80000
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    mov dword [0xfee000f0], 0x1ff            ; LAPIC software enable
    mov dword [0xfec00000], 0x10 + 2 * 10
    mov dword [0xfec00010], 0x8050           ; level, vector 0x50
    mov dword [0xfec00000], 0x11 + 2 * 10
    mov dword [0xfec00010], 0
round:
    cli
    mov dx, 0x2000 + 10
    mov al, 1
    out dx, al                                ; line high (the interrupt waits for IF)
    sti                                       ; STI's shadow: the interrupt arrives at the HLT
    hlt
    cmp dword [count], 3
    jb round
    mov al, [count]
    out 0xf4, al
handler:
    push eax
    push edx
    mov dword [0xfec00000], 0x10 + 2 * 10
    mov eax, [0xfec00010]
    shr eax, 14
    and al, 1
    add al, 'R' - 1                           ; 'R' with Remote IRR set, 'Q' clear
    out 0xe9, al
    mov dx, 0x2000 + 10
    xor al, al
    out dx, al                                ; line low
    mov dword [0xfee000b0], 0                 ; EOI: broadcast to the IOAPIC (level vector in TMR)
    mov dword [0xfec00000], 0x10 + 2 * 10
    mov eax, [0xfec00010]
    shr eax, 14
    and al, 1
    add al, 'r' - 1
    out 0xe9, al
    inc dword [count]
    pop edx
    pop eax
    iretd
count: dd 0
idtr: dw 0x50 * 8 + 7
    dd idt
align 8
idt: times 0x50 dq 0
    dw handler & 0xffff, 0x18, 0x8e00, handler >> 16
