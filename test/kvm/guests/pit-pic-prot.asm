; 32-bit protected mode: the PIC at vectors 0x30/0x38 with auto-EOI on the master (ICW4 = 3),
; PIT channel 0 in mode 3 (square wave) at about 2 kHz, an IDT gate for vector 0x30. The handler
; needs no EOI; it counts, and after 5 ticks reprograms channel 0 to a one-shot (mode 0) that fires
; once more. The guest halts with interrupts enabled until then, prints the ticks and exits.
bits 32
org 0x100000
    cli
    lidt [idtr]
    mov esp, 0x80000
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x30
    out 0x21, al
    mov al, 0x38
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 3                                 ; ICW4: 8086 mode, auto-EOI
    out 0x21, al
    mov al, 1
    out 0xa1, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    mov al, 0x36                              ; channel 0, LSB/MSB, mode 3
    out 0x43, al
    mov ax, 597
    out 0x40, al
    mov al, ah
    out 0x40, al
    sti
idle:
    hlt
    cmp dword [ticks], 5
    jne .notfive
    mov al, 0x30                              ; channel 0, LSB/MSB, mode 0: one interrupt
    out 0x43, al
    mov ax, 2386
    out 0x40, al
    mov al, ah
    out 0x40, al
    inc dword [ticks]                         ; 6: wait for the one-shot
.notfive:
    cmp dword [ticks], 7
    jb idle
    mov al, [ticks]
    out 0xf4, al
tick:
    push eax
    inc dword [ticks]
    mov al, [ticks]
    add al, '0'
    out 0xe9, al
    pop eax
    iretd
ticks: dd 0
idtr: dw 0x30 * 8 + 7
    dd idt
align 8
idt: times 0x30 dq 0
    dw tick & 0xffff, 0x18, 0x8e00, tick >> 16
