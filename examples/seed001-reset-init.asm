; Seed 001: RESET and INIT. The BSP (flat 32-bit) sends INIT and a SIPI with vector 0x09 to APIC 1
; and halts; the AP starts at 0900:0000 in real mode, prints "A", and ends the run through the exit
; port with the low byte of its CR0: 0x10 (ET; CD and NW, bits 30 and 29, are set too after INIT,
; CR0 = 0x60000010, but are not in the low byte) -> exit status 16. Run it with --vcpus 2.
; --pre-fix-seed001 (KVM before the fixes) adds the register-cache events it shows: KVM reads
; GUEST_CR0 before it was ever written (kvm-guest prints them on stderr, --json as kvm_events).
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
