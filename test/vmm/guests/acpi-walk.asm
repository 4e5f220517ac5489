; A multiboot kernel that finds the platform's firmware tables the way a kernel does and reports
; what it found: scan 0xE0000-0xFFFFF in 16-byte steps for "RSD PTR " with a valid checksum, follow
; the XSDT (revision 2) to every table, check each table's checksum, count the MADT's LAPIC entries
; and interrupt source overrides, read the FADT's PM timer block and the PM timer twice, find the
; "_MP_" floating pointer, then write the results and leave through the exit device (0 = all found).
bits 32
org 0x100000
RES equ 0x200000
; RES+0 RSDP address, +4 XSDT, +8 tables seen, +12 bad checksums, +16 LAPICs, +20 overrides,
; +24 IOAPIC address, +28 PM_TMR_BLK, +32/+36 two PM timer reads, +40 MP floating pointer, +44 FACS
mb_header:
    dd 0x1BADB002, 0x00010000, 0xE4514FFE
    dd mb_header, mb_header, image_end, image_end + 4096, entry
entry:
    mov esp, 0x90000
    mov esi, 0xE0000
.scan:
    cmp dword [esi], 'RSD '
    jne .next
    cmp dword [esi + 4], 'PTR '
    jne .next
    mov ecx, 20
    call sum
    test al, al
    jz .found
.next:
    add esi, 16
    cmp esi, 0x100000
    jb .scan
    mov al, 1                 ; no RSDP
    jmp done
.found:
    mov [RES + 0], esi
    mov ebx, [esi + 24]       ; XSDT
    mov [RES + 4], ebx
    mov esi, ebx
    mov ecx, [esi + 4]
    call sum
    add [RES + 12], eax
    mov ecx, [ebx + 4]
    sub ecx, 36
    shr ecx, 3
    lea edi, [ebx + 36]
.table:
    mov esi, [edi]
    push ecx
    inc dword [RES + 8]
    mov ecx, [esi + 4]
    call sum
    movzx eax, al
    add [RES + 12], eax
    cmp dword [esi], 'APIC'
    jne .not_madt
    call madt
.not_madt:
    cmp dword [esi], 'FACP'
    jne .not_fadt
    mov eax, [esi + 36]
    mov [RES + 44], eax
    mov edx, [esi + 76]
    mov [RES + 28], edx
    in eax, dx
    mov [RES + 32], eax
    mov ecx, 1000
.spin:
    loop .spin
    in eax, dx
    mov [RES + 36], eax
.not_fadt:
    pop ecx
    add edi, 8
    dec ecx
    jnz .table
    mov esi, 0xF0000          ; the MP floating pointer
.mp:
    cmp dword [esi], '_MP_'
    je .mp_found
    add esi, 16
    cmp esi, 0x100000
    jb .mp
    jmp .mp_done
.mp_found:
    mov [RES + 40], esi
.mp_done:
    xor eax, eax
done:
    out 0xf4, al
    hlt

; byte sum of [esi, esi + ecx) -> al
sum:
    push esi
    push ecx
    xor eax, eax
.l:
    add al, [esi]
    inc esi
    loop .l
    pop ecx
    pop esi
    ret

; walk the MADT at esi
madt:
    push esi
    mov ecx, [esi + 4]
    lea edx, [esi + ecx]
    add esi, 44
.e:
    cmp esi, edx
    jae .end
    movzx eax, byte [esi]
    cmp eax, 0
    jne .not_lapic
    test byte [esi + 4], 1
    jz .adv
    inc dword [RES + 16]
    jmp .adv
.not_lapic:
    cmp eax, 1
    jne .not_ioapic
    mov eax, [esi + 4]
    mov [RES + 24], eax
    jmp .adv
.not_ioapic:
    cmp eax, 2
    jne .adv
    inc dword [RES + 20]
.adv:
    movzx eax, byte [esi + 1]
    add esi, eax
    jmp .e
.end:
    pop esi
    ret
image_end:
