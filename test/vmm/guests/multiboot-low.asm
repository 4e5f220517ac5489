; A multiboot kernel linked at 0x8000, as kvm-unit-tests' realmode is (0x8000-0xa86c): its bytes
; cover the addresses where the loader writes the e820 map (0x9000) and the MBI (0x9500). The
; option ROM reads the kernel in last, so the kernel finds its own bytes there: it sums the pattern
; at 0x9000-0x95ff and exits with 0 when every byte is intact, 1 otherwise.
bits 32
org 0x8000
mb:
    dd 0x1BADB002, 0x00010000, 0xE4514FFE
    dd mb, mb, image_end, image_end, entry
entry:
    mov esi, 0x9000
    xor ecx, ecx
.l:
    mov al, cl
    xor al, 0x5a
    cmp [esi + ecx], al
    jne bad
    inc ecx
    cmp ecx, 0x600
    jb .l
    mov eax, 0
    out 0xf4, al
bad:
    mov al, 1
    out 0xf4, al
    hlt
times 0x1000 - ($ - $$) db 0
%assign k 0
%rep 0x600
    db (k & 0xff) ^ 0x5a
%assign k k + 1
%endrep
image_end:
