; Adapter-test guest for a stale register cache (launch options preFixSeed001: true,
; unrestrictedGuest: false, vcpus: 2). KVM before seed 001's fix stuffs regs_avail = regs_dirty = ~0
; in kvm_vcpu_reset, so on INIT vmx_set_rflags -> vmx_get_rflags (unrestricted guest off) returns the
; vmx->rflags KVM cached before the guest last changed its flags: "Stuffing regs_avail technically
; means vmx_set_rflags() -> vmx_get_rflags() is consuming stale data" (Sean, seed 001).
; The BSP starts the AP (INIT, SIPI 0x09); the AP sets CF PF AF ZF (RFLAGS 0x57) with no exit since
; KVM cached RFLAGS = 0x2 at its INIT, says so, and spins; the BSP sends INIT and SIPI 0x0a: the AP is
; reset (the stale read) and restarts at 0A00:0000, prints 'B' and ends the run with exit code 0x42.
bits 32
org 0x7c00
start:
    mov dword [0xfee00310], 0x01000000   ; ICR high: destination APIC 1
    mov dword [0xfee00300], 0x00004500   ; INIT
    mov dword [0xfee00300], 0x00004609   ; SIPI, vector 0x09
wait_ap:
    pause
    cmp byte [flag], 1
    jne wait_ap
    mov dword [0xfee00300], 0x00004500   ; @init2   INIT while the AP runs
    mov dword [0xfee00300], 0x0000460a   ; SIPI, vector 0x0a
    cli
    hlt
flag: db 0
times 0x9000 - 0x7c00 - ($ - $$) db 0
bits 16
ap_first:
    mov al, 0xff
    add al, 1                   ; @flags   CF PF AF ZF set: RFLAGS 0x57
    mov byte [flag], 1
spin:
    jmp spin
times 0xa000 - 0x7c00 - ($ - $$) db 0
ap_second:
    mov al, 'B'                 ; @ap_second
    out 0xe9, al
    mov al, 0x42
    out 0xf4, al
