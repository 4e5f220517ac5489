; Seed 001: RESET and INIT. The BSP (flat 32-bit) prints its CR0, then sends INIT and a SIPI with
; vector 0x09 to APIC 1; the AP starts at 0900:0000 in real mode, prints "A", and ends the run
; through the exit port with the low byte of its CR0 (0x10: ET, CD/NW set at RESET -> exit 0x10).
bits 32
org 0x7c00
start:
    mov dword [0xfee00310], 0x01000000   ; ICR high: destination APIC 1
    mov dword [0xfee00300], 0x00004500   ; INIT
    mov dword [0xfee00300], 0x00004609   ; SIPI, vector 0x09
    hlt
times 0x9000 - 0x7c00 - ($ - $$) db 0
bits 16
ap_start:
    mov al, 'A'
    out 0xe9, al
    mov eax, cr0
    out 0xf4, al
