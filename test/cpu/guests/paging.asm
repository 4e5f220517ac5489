; One guest per paging mode (SDM Vol. 3A ch. 4), chosen with -DPMODE=n:
;   1 32-bit 4K, 2 32-bit 4M (PSE), 3 PAE 4K, 4 PAE 2M, 5 4-level 4K, 6 4-level 2M, 7 4-level 1G.
; Maps VADDR -> PADDR (writable) and VRO -> PRO (read-only) beside an identity map of 0-8 MiB,
; writes through VADDR and reads through VRO. Results: RES+0 value read back at PADDR+0x10,
; RES+4 value read through VRO+0x20, RES+8 the VADDR leaf entry (A and D set), RES+16 the VRO
; leaf entry (A set, D clear), RES+24 the first-level entry (A set), RES+32 CR3. Tables at 0x40000-0x45000 (not the boot tables at 0x20000).
%include "lib.inc"
org 0x8000

T0 equ 0x40000                  ; top-level table (PD, PDPT or PML4)
T1 equ 0x41000
T2 equ 0x42000
T3 equ 0x43000
T4 equ 0x44000
T5 equ 0x45000

%if PMODE == 7
VADDR equ 0x40400000            ; inside the 1 GiB page at 1 GiB -> physical 0x400000
VRO   equ 0x80400000            ; read-only 1 GiB page at 2 GiB -> physical 0x400000
PRO   equ 0x400000
%elif PMODE == 2
VADDR equ 0x40000000
VRO   equ 0x40400000            ; read-only 4 MiB page -> 0x400000
PRO   equ 0x400000
%elif PMODE == 4 || PMODE == 6
VADDR equ 0x40000000
VRO   equ 0x40200000            ; read-only 2 MiB page -> 0x600000
PRO   equ 0x600000
%else
VADDR equ 0x40000000
VRO   equ 0x40001000            ; read-only 4K page -> 0x401000
PRO   equ 0x401000
%endif
PADDR equ 0x400000

start:
%if PMODE >= 5
    BOOT64
    ; Build the tables with 32-bit stores (the same code shape as the legacy modes).
    mov rdi, T0
    mov ecx, 0x6000 / 4
    xor eax, eax
    rep stosd
%else
bits 16
    ENTER_PM32 pm32
    mov edi, T0
    mov ecx, 0x6000 / 4
    xor eax, eax
    rep stosd
%endif
    mov dword [PRO + 0x20], 0x5eed1234          ; seen through VRO
%if PMODE == 1
    ; 32-bit paging, 4K: PD T0, identity PTs T1 (0-4M), T2 (4-8M), PT for VADDR T3.
    mov dword [T0 + 0 * 4], T1 | 7
    mov dword [T0 + 1 * 4], T2 | 7
    mov dword [T0 + 0x100 * 4], T3 | 7
    mov edi, T1
    mov eax, 7
    mov ecx, 2048
.id: mov [edi], eax
    add eax, 0x1000
    add edi, 4
    loop .id
    mov dword [T3 + 0], PADDR | 3
    mov dword [T3 + 4], PRO | 1
LEAFV equ T3
LEAFRO equ T3 + 4
TOP equ T0 + 0x100 * 4
%elif PMODE == 2
    mov eax, cr4
    or eax, 0x10                                ; PSE
    mov cr4, eax
    mov dword [T0 + 0 * 4], 0x000000 | 0x87
    mov dword [T0 + 1 * 4], 0x400000 | 0x87
    mov dword [T0 + 0x100 * 4], PADDR | 0x83
    mov dword [T0 + 0x101 * 4], PRO | 0x81
LEAFV equ T0 + 0x100 * 4
LEAFRO equ T0 + 0x101 * 4
TOP equ T0 + 0x100 * 4
%elif PMODE == 3 || PMODE == 4
    mov eax, cr4
    or eax, 0x20                                ; PAE
    mov cr4, eax
    mov dword [T0 + 0 * 8], T1 | 1              ; PDPTEs: only P (bits 2:1 reserved)
    mov dword [T0 + 1 * 8], T2 | 1
    mov dword [T1 + 0 * 8], 0x000000 | 0x87     ; identity 0-8 MiB with 2 MiB pages
    mov dword [T1 + 1 * 8], 0x200000 | 0x87
    mov dword [T1 + 2 * 8], 0x400000 | 0x87
    mov dword [T1 + 3 * 8], 0x600000 | 0x87
%if PMODE == 3
    mov dword [T2 + 0], T3 | 7
    mov dword [T3 + 0], PADDR | 3
    mov dword [T3 + 8], PRO | 1
LEAFV equ T3
LEAFRO equ T3 + 8
TOP equ T2
%else
    mov dword [T2 + 0], PADDR | 0x83
    mov dword [T2 + 8], PRO | 0x81
LEAFV equ T2
LEAFRO equ T2 + 8
TOP equ T2
%endif
%else
    ; 4-level: PML4 T0 -> PDPT T1; PDPT[0] -> PD T2 (identity 0-8 MiB, 2 MiB pages).
    mov dword [T0], T1 | 7
    mov dword [T1 + 0 * 8], T2 | 7
    mov dword [T2 + 0 * 8], 0x000000 | 0x87
    mov dword [T2 + 1 * 8], 0x200000 | 0x87
    mov dword [T2 + 2 * 8], 0x400000 | 0x87
    mov dword [T2 + 3 * 8], 0x600000 | 0x87
%if PMODE == 5
    mov dword [T1 + 1 * 8], T3 | 7
    mov dword [T3 + 0], T4 | 7
    mov dword [T4 + 0], PADDR | 3
    mov dword [T4 + 8], PRO | 1
LEAFV equ T4
LEAFRO equ T4 + 8
TOP equ T0
%elif PMODE == 6
    mov dword [T1 + 1 * 8], T3 | 7
    mov dword [T3 + 0], PADDR | 0x83
    mov dword [T3 + 8], PRO | 0x81
LEAFV equ T3
LEAFRO equ T3 + 8
TOP equ T0
%else
    mov dword [T1 + 1 * 8], 0 | 0x83            ; 1 GiB page at 1 GiB -> physical 0
    mov dword [T1 + 2 * 8], 0 | 0x81            ; read-only 1 GiB page at 2 GiB
LEAFV equ T1 + 8
LEAFRO equ T1 + 16
TOP equ T0
%endif
%endif
    mov eax, T0
%if PMODE >= 5
    mov cr3, rax
%else
    mov cr3, eax
%endif
%if PMODE <= 4
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
%endif
    mov dword [VADDR + 0x10], 0xcafebabe
    mov eax, [PADDR + 0x10]
    mov [RES], eax
    mov ebx, VRO                                ; (a disp32 would sign-extend in 64-bit mode)
%if PMODE >= 5
    mov eax, [rbx + 0x20]
%else
    mov eax, [ebx + 0x20]
%endif
    mov [RES + 4], eax
    mov eax, [LEAFV]
    mov [RES + 8], eax
    mov eax, [LEAFRO]
    mov [RES + 16], eax
    mov eax, [TOP]
    mov [RES + 24], eax
%if PMODE >= 5
    mov rax, cr3
%else
    mov eax, cr3
%endif
    mov [RES + 32], eax
    hlt
    GDT_TABLE
