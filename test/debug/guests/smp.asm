; Reverse-execution test guest for SMP: the BSP (flat 32-bit) starts every AP with INIT-SIPI-SIPI
; (shorthand "all excluding self"); the APs start in real mode at 0900:0000. Every vCPU then folds
; its own affine map into one shared word (shared = shared * 5 + 1 on the BSP, * 3 + 7 on the
; APs), which do not commute, so the final value depends on the exact interleaving; every 1024
; iterations each prints a letter on the debug port (an exit the VMM answers) and the BSP also reads
; port 0x61 (the VMM answers 0xff unless the reply is edited) into the shared word. The BSP waits for
; the APs (a `lock inc` counter) and ends the run through the exit port with the shared word's low
; byte. The two maps are macros, so a line step over them runs two instructions. Markers (; @name) name the lines the tests use. %define ITER / AP_ITER change the lengths.
%ifndef ITER
%define ITER 24000
%endif
%ifndef AP_ITER
%define AP_ITER 20000
%endif
%ifndef NAPS
%define NAPS 1
%endif
%macro bsp_mix 0
    imul eax, eax, 5
    inc eax
%endmacro
%macro ap_mix 0
    imul eax, eax, 3
    add eax, 7
%endmacro
bits 32
org 0x7c00
start:
    mov dword [0xfee00300], 0x000c4500   ; INIT to all excluding self
    mov dword [0xfee00300], 0x000c4609   ; SIPI, vector 0x09
    mov ecx, ITER
bsp_loop:
    mov eax, [shared]                    ; @bsp_load
    bsp_mix                              ; @bsp_mix
    mov [shared], eax                    ; @bsp_store
    test ecx, 0x3ff
    jnz bsp_next
    mov al, 'b'
    out 0xe9, al                         ; @bsp_out
    in al, 0x61                          ; @bsp_in
    movzx edx, al
    add [shared], edx
bsp_next:
    dec ecx
    jnz bsp_loop
bsp_wait:
    cmp dword [done], NAPS               ; @bsp_wait
    jne bsp_wait
    mov eax, [shared]
    out 0xf4, al                         ; @bsp_exit

times 0x8000 - 0x7c00 - ($ - $$) db 0 ; the shared words on their own page (not a code page)
shared: dd 1
done:   dd 0

times 0x9000 - 0x7c00 - ($ - $$) db 0
bits 16
ap_start:
    xor ax, ax                           ; @ap_start
    mov ds, ax
    mov ecx, AP_ITER
ap_loop:
    mov eax, [shared]                    ; @ap_load
    ap_mix                               ; @ap_mix
    mov [shared], eax                    ; @ap_store
    test cx, 0x3ff
    jnz ap_next
    mov al, 'a'
    out 0xe9, al                         ; @ap_out
ap_next:
    dec ecx
    jnz ap_loop
    lock inc dword [done]                ; @ap_done
ap_halt:
    hlt
    jmp ap_halt
