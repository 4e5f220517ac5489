; Page-level protection in 64-bit mode (SDM Vol. 3A 4.6, 4.10): WP, U/S with SMAP/SMEP, NX,
; and the TLB rules (INVLPG vs a stale entry, global pages across a CR3 load, CR4.PGE toggle).
; 4K pages at 16 MiB (physical 0x700000 + n * 4K) through PT at 0x44000:
;   0x1000000 user RW, 0x1001000 supervisor RO, 0x1002000 user RO, 0x1003000 user code,
;   0x1004000 -> 0x500000 then 0x501000 (INVLPG), 0x1005000 global, 0x1006000 non-global,
;   0x1007000 supervisor NX.
; Results: RES+0 stale read, +4 read after INVLPG, +8 global page after MOV CR3, +12 non-global
; page after MOV CR3, +16 global page after toggling CR4.PGE, +20 read with STAC under SMAP,
; +24 value written with WP=0 to a read-only page.
%include "lib.inc"
org 0x8000
PTX equ 0x44000
start:
    BOOT64
    call setup_idt64
    mov dword [0x500000], 0x11111111
    mov dword [0x501000], 0x22222222
    ; Supervisor-only identity map of the first 2 MiB (code, stacks, tables) for SMEP/SMAP.
    mov byte [PD], 0x83
    mov rdi, PTX
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov qword [PTX + 0 * 8], 0x700000 | 7      ; user RW
    mov qword [PTX + 1 * 8], 0x701000 | 1      ; supervisor RO
    mov qword [PTX + 2 * 8], 0x702000 | 5      ; user RO
    mov qword [PTX + 3 * 8], 0x703000 | 5      ; user code
    mov qword [PTX + 4 * 8], 0x500000 | 3       ; remapped below
    mov qword [PTX + 5 * 8], 0x500000 | 0x103   ; global
    mov qword [PTX + 6 * 8], 0x500000 | 3       ; non-global
    mov qword [PTX + 7 * 8], 0x707000 | 3      ; NX set below when available
    mov qword [PD + 8 * 8], PTX | 7
    mov byte [0x703000], 0xc3                   ; RET in the user page
    mov byte [0x707000], 0xc3
    mov rax, cr3
    mov cr3, rax                                ; flush the 2 MiB mapping of 16 MiB
    ; CR0.WP = 0: supervisor writes to read-only pages succeed.
    mov dword [0x1001000], 0x77
    mov eax, [0x1001000]
    mov [RES + 24], eax
    mov rax, cr0
    or eax, 0x10000
    mov cr0, rax
    TRY mov dword [0x1001000], 1                ; #PF(3)
    TRY mov dword [0x1002000], 1                ; #PF(3): user page, read-only
    mov dword [0x1000000], 5                    ; user RW page: fine without SMAP
    ; SMAP: supervisor data accesses to user pages fault unless RFLAGS.AC = 1.
    mov rax, cr4
    or eax, 0x200000
    mov cr4, rax
    TRY mov eax, [0x1000000]                    ; #PF(1)
%ifdef KVM
    pushfq                                      ; (KVM's emulator has no STAC: set AC with POPF)
    or dword [rsp], 0x40000
    popfq
%else
    stac
%endif
    mov eax, [0x1000000]
    mov [RES + 20], eax
%ifdef KVM
    pushfq
    and dword [rsp], ~0x40000
    popfq
%else
    clac
%endif
    ; SMEP: supervisor fetches from user pages fault.
    mov rax, cr4
    or eax, 0x100000
    mov cr4, rax
    mov eax, 0x1003000
    TRY call rax                                ; #PF(0x11)
    mov rax, cr4
    and eax, ~0x300000
    mov cr4, rax
%ifndef KVM
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x800
    wrmsr
    bts qword [PTX + 7 * 8], 63
    invlpg [0x1007000]
    mov eax, 0x1007000
    TRY call rax                                ; #PF(0x11): NX
%endif
    ; INVLPG vs a stale TLB entry.
    mov eax, [0x1004000]                        ; TLB now maps 0x1004000 -> 0x500000
    mov qword [PTX + 4 * 8], 0x501000 | 3
    mov eax, [0x1004000]
    mov [RES + 0], eax                          ; still the old page (no invalidation yet)
    invlpg [0x1004000]
    mov eax, [0x1004000]
    mov [RES + 4], eax
    ; Global pages survive MOV CR3 while CR4.PGE = 1; toggling PGE flushes them.
    mov rax, cr4
    or eax, 0x80
    mov cr4, rax
    mov eax, [0x1005000]
    mov eax, [0x1006000]
    mov qword [PTX + 5 * 8], 0x501000 | 0x103
    mov qword [PTX + 6 * 8], 0x501000 | 3
    mov rax, cr3
    mov cr3, rax
    mov eax, [0x1005000]
    mov [RES + 8], eax
    mov eax, [0x1006000]
    mov [RES + 12], eax
    mov rax, cr4
    and eax, ~0x80
    mov cr4, rax
    mov eax, [0x1005000]
    mov [RES + 16], eax
    hlt
    IDT64_CODE
    GDT_TABLE
