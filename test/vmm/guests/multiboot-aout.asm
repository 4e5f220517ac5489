; A multiboot (v1) kernel using the a.out kludge (flags bit 16): the loader places it by the header's
; addresses. At entry it records what the boot protocol handed over (EAX, EBX, CR0, CS, a .bss
; dword that must be zero), reads fw_cfg's signature and CPU count through the ports, touches the
; pc-testdev IORAM window (MMIO) and the echo port, then ends through the exit device.
bits 32
org 0x100000
RES equ 0x200000              ; results, read back by the test
image_start:
mb_header:
    dd 0x1BADB002             ; magic
    dd 0x00010003             ; page-align modules, memory info, a.out kludge
    dd 0xE4514FFB             ; -(magic + flags)
    dd mb_header              ; header_addr
    dd image_start            ; load_addr
    dd image_end              ; load_end_addr
    dd image_end + 4096       ; bss_end_addr
    dd entry                  ; entry_addr
entry:
    mov [RES + 0], eax
    mov [RES + 4], ebx
    mov eax, cr0
    mov [RES + 8], eax
    mov ax, cs
    movzx eax, ax
    mov [RES + 12], eax
    mov eax, [image_end + 16]  ; in the zeroed .bss
    mov [RES + 16], eax
    mov dx, 0x510             ; fw_cfg: select the signature
    xor eax, eax
    out dx, ax
    inc dx
    mov ecx, 4
    mov edi, RES + 20
.sig:
    in al, dx
    stosb
    loop .sig
    dec dx
    mov ax, 5                 ; FW_CFG_NB_CPUS
    out dx, ax
    inc dx
    in al, dx
    mov [RES + 24], al
    in al, dx
    mov [RES + 25], al
    mov dword [0xFF000010], 0xCAFEF00D  ; pc-testdev IORAM: MMIO through the instruction emulator
    mov eax, [0xFF000010]
    mov [RES + 28], eax
    mov eax, 0x11223344
    out 0xe0, eax
    mov al, 0xAA
    out 0xe1, al
    in eax, 0xe0
    mov [RES + 32], eax
    mov al, 0
    out 0xf4, al
    hlt
image_end:
