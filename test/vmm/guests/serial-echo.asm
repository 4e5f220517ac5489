; COM1 echo, interrupt driven: the receive-data interrupt (IER bit 0) on IRQ 4 through the IOAPIC
; (GSI 4, edge, vector 0x24) to the LAPIC; the handler reads RBR while LSR.DR is set and writes
; each byte back to THR; 'q' ends the run through the exit device (0xF4) with the number of
; interrupts taken. %define FCR sets the FIFO control register (default 0: FIFOs off).
bits 32
org 0x100000
%ifndef FCR
%define FCR 0
%endif
    mov esp, 0x80000
    lidt [idtr]
    mov al, 0xff                           ; mask both 8259s: COM1's IRQ 4 also reaches the PIC, whose
    out 0x21, al                           ; output goes to LINT0 as ExtINT (KVM's LINT0_REENABLED quirk
    out 0xa1, al                           ; leaves the BSP's LVT0 unmasked at RESET; no firmware ran)
    mov dword [0xfee000f0], 0x1ff          ; LAPIC: software enabled
    mov dword [0xfec00000], 0x10 + 2 * 4   ; IOAPIC RTE 4: vector 0x24, edge, fixed, physical 0
    mov dword [0xfec00010], 0x24
    mov dword [0xfec00000], 0x11 + 2 * 4
    mov dword [0xfec00010], 0
    mov dx, 0x3fb
    mov al, 0x03                           ; LCR: 8N1
    out dx, al
    mov dx, 0x3fa
    mov al, FCR
    out dx, al
    mov dx, 0x3f9
    mov al, 0x01                           ; IER: received data available
    out dx, al
    mov dx, 0x3f8
    mov al, '>'
    out dx, al
    sti
idle:
    hlt
    jmp idle

isr:
    push eax
    push edx
    inc dword [count]
.next:
    mov dx, 0x3fd
    in al, dx
    test al, 1                             ; LSR.DR
    jz .done
    mov dx, 0x3f8
    in al, dx
    cmp al, 'q'
    je quit
    out dx, al
    jmp .next
.done:
    mov dword [0xfee000b0], 0              ; EOI
    pop edx
    pop eax
    iret
quit:
    mov eax, [count]
    out 0xf4, al
    hlt

fault:
    mov al, 0xee
    out 0xf4, al
    hlt

count: dd 0
idtr:
    dw 0x25 * 8 - 1
    dd idt
align 8
idt:
%assign v 0
%rep 0x24
    dw fault - $$ + 0x100000 & 0xffff, 0x18, 0x8e00, (fault - $$ + 0x100000) >> 16
%assign v v + 1
%endrep
    dw isr - $$ + 0x100000 & 0xffff, 0x18, 0x8e00, (isr - $$ + 0x100000) >> 16
