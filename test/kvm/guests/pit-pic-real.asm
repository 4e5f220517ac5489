; Real mode: the 8259 pair programmed (IRQ0-7 at vector 0x20, slave at 0x28, all but IRQ0 masked),
; PIT channel 0 in mode 2 at 1 kHz (count 1193), interrupts taken through the IVT while the CPU
; halts. Each tick prints 'a' + n on the debug port and sends a non-specific EOI; after 6 ticks the
; guest latches channel 0 and reads it back (LSB, MSB), prints the read-back status byte and exits
; with the tick count on port 0xf4.
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x20 * 4], tick                 ; IVT entry 0x20
    mov word [0x20 * 4 + 2], 0
    mov al, 0x11                              ; ICW1: edge, cascade, ICW4
    out 0x20, al
    out 0xa0, al
    mov al, 0x20                              ; ICW2: vector bases
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4                                 ; ICW3: slave on IR2
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1                                 ; ICW4: 8086 mode
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe                              ; OCW1: only IRQ0
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    mov al, 0x34                              ; PIT: channel 0, LSB then MSB, mode 2
    out 0x43, al
    mov ax, 1193
    out 0x40, al
    mov al, ah
    out 0x40, al
    sti
idle:
    hlt
    cmp word [ticks], 6
    jb idle
    cli
    mov al, 0x00                              ; counter latch, channel 0
    out 0x43, al
    in al, 0x40
    mov bl, al
    in al, 0x40
    mov bh, al
    cmp bx, 1193
    ja bad
    mov al, 0xe2                              ; read-back: status of channel 0
    out 0x43, al
    in al, 0x40
    out 0xe9, al
    mov al, [ticks]
    out 0xf4, al
bad:
    mov al, 0xee
    out 0xf4, al
tick:
    push ax
    inc word [ticks]
    mov al, [ticks]
    add al, 'a' - 1
    out 0xe9, al
    mov al, 0x20                              ; non-specific EOI
    out 0x20, al
    pop ax
    iret
ticks: dw 0
