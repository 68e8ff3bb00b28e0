package dev.jresnet.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the tests check in a CUBIN, read from its ELF64 headers and symbol table: the machine (EM_CUDA), the
 * SM architecture it was compiled for, and its kernels. Shared by {@link NativeSourcesTest} (nvcc's CUBINs)
 * and {@link KernelCompilerNvrtcTest} (NVRTC's, through {@link KernelCompiler}).
 *
 * <p>A kernel is an entry point: a defined {@code STT_FUNC} symbol, {@code STB_GLOBAL}, with NVIDIA's
 * {@code STO_CUDA_ENTRY} bit (0x10) in {@code st_other}, as {@code readelf -s} shows for every
 * {@code __global__} function. Compiler helpers such as {@code $__internal_0_$__cuda_sm20_div_u64} are weak
 * functions without that bit, and a name that merely occurs in the string table is no symbol at all.
 * Every offset and size read from the file is checked against its length: a malformed file gives an
 * {@link IllegalArgumentException}, never an out-of-bounds read.
 */
final class CubinElf {
    /** e_machine of a CUBIN. */
    static final int EM_CUDA = 190;
    /** st_other bit of a kernel entry point in NVIDIA's ELF. */
    static final int STO_CUDA_ENTRY = 0x10;
    private static final int SHT_SYMTAB = 2, SHT_STRTAB = 3;
    private static final int STT_FUNC = 2, STB_GLOBAL = 1;
    private static final int SHN_UNDEF = 0, SHN_LORESERVE = 0xff00;
    private static final int EHDR_SIZE = 64, SHDR_SIZE = 64, SYM_SIZE = 24;

    /** One entry of the symbol table. */
    record Symbol(String name, int type, int bind, int other, int sectionIndex) {
        boolean isKernel() {
            return type == STT_FUNC && bind == STB_GLOBAL && sectionIndex != SHN_UNDEF
                    && (other & STO_CUDA_ENTRY) != 0;
        }
    }

    private final int machine;
    private final int abiVersion;
    private final int flags;
    private final List<Symbol> symbols;

    private CubinElf(int machine, int abiVersion, int flags, List<Symbol> symbols) {
        this.machine = machine;
        this.abiVersion = abiVersion;
        this.flags = flags;
        this.symbols = List.copyOf(symbols);
    }

    /** Parses {@code bytes}: an ELF64 little-endian file with a section header table and a symbol table. */
    static CubinElf parse(byte[] bytes) {
        if (bytes.length < EHDR_SIZE || bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F') {
            throw new IllegalArgumentException("not an ELF file (" + bytes.length + " bytes)");
        }
        if (bytes[4] != 2 || bytes[5] != 1) {
            throw new IllegalArgumentException("not ELF64 little-endian (EI_CLASS " + bytes[4] + ", EI_DATA " + bytes[5] + ")");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int abiVersion = bytes[8] & 0xff;
        int machine = b.getShort(18) & 0xffff;
        int flags = b.getInt(48);
        long shoff = b.getLong(40);
        int shentsize = b.getShort(58) & 0xffff;
        int shnum = b.getShort(60) & 0xffff;
        if (shnum == 0 || shnum >= SHN_LORESERVE) {
            throw new IllegalArgumentException("unsupported section count " + shnum + " (extended numbering?)");
        }
        if (shentsize < SHDR_SIZE) {
            throw new IllegalArgumentException("section header size " + shentsize + " < " + SHDR_SIZE);
        }
        checkRange(bytes, shoff, (long) shnum * shentsize, "section header table");

        List<Symbol> symbols = new ArrayList<>();
        int symtabs = 0;
        for (int i = 0; i < shnum; i++) {
            int sh = Math.toIntExact(shoff + (long) i * shentsize);
            if (b.getInt(sh + 4) != SHT_SYMTAB) {
                continue;
            }
            symtabs++;
            long offset = b.getLong(sh + 24), size = b.getLong(sh + 32), entsize = b.getLong(sh + 56);
            int link = b.getInt(sh + 40);
            if (entsize < SYM_SIZE) {
                throw new IllegalArgumentException("symbol size " + entsize + " < " + SYM_SIZE);
            }
            checkRange(bytes, offset, size, "symbol table");
            if (link <= 0 || link >= shnum) {
                throw new IllegalArgumentException("symbol table links to section " + link + " of " + shnum);
            }
            int str = Math.toIntExact(shoff + (long) link * shentsize);
            if (b.getInt(str + 4) != SHT_STRTAB) {
                throw new IllegalArgumentException("symbol table links to section " + link + ", not a string table");
            }
            long strOffset = b.getLong(str + 24), strSize = b.getLong(str + 32);
            checkRange(bytes, strOffset, strSize, "string table");
            for (long s = offset; s + SYM_SIZE <= offset + size; s += entsize) {
                int at = Math.toIntExact(s);
                long nameOffset = b.getInt(at) & 0xffffffffL;
                int info = bytes[at + 4] & 0xff;
                int other = bytes[at + 5] & 0xff;
                int shndx = b.getShort(at + 6) & 0xffff;
                String name = string(bytes, strOffset, strSize, nameOffset);
                symbols.add(new Symbol(name, info & 0xf, info >>> 4, other, shndx));
            }
        }
        if (symtabs == 0) {
            throw new IllegalArgumentException("no symbol table");
        }
        return new CubinElf(machine, abiVersion, flags, symbols);
    }

    private static void checkRange(byte[] bytes, long offset, long size, String what) {
        if (offset < 0 || size < 0 || offset > bytes.length || size > bytes.length - offset) {
            throw new IllegalArgumentException(what + " at " + offset + " of " + size + " bytes lies outside the "
                    + bytes.length + "-byte file");
        }
    }

    /** The NUL-terminated string at {@code nameOffset} of the string table, which must contain its NUL. */
    private static String string(byte[] bytes, long tableOffset, long tableSize, long nameOffset) {
        if (nameOffset >= tableSize) {
            throw new IllegalArgumentException("symbol name at " + nameOffset + " outside the string table of "
                    + tableSize + " bytes");
        }
        int start = Math.toIntExact(tableOffset + nameOffset);
        int end = start;
        int limit = Math.toIntExact(tableOffset + tableSize);
        while (end < limit && bytes[end] != 0) {
            end++;
        }
        if (end == limit) {
            throw new IllegalArgumentException("unterminated symbol name at " + nameOffset);
        }
        return new String(bytes, start, end - start, StandardCharsets.UTF_8);
    }

    int machine() {
        return machine;
    }

    /**
     * The SM number (90 for sm_90) from e_flags: bits 8-15 from ELF ABI version 8 on (what CUDA 12.x and 13
     * write), bits 0-7 before.
     */
    int smVersion() {
        return abiVersion >= 8 ? (flags >>> 8) & 0xff : flags & 0xff;
    }

    List<Symbol> symbols() {
        return symbols;
    }

    /** The names of the kernel entry points, sorted. */
    Set<String> kernels() {
        return symbols.stream().filter(Symbol::isKernel).map(Symbol::name).collect(Collectors.toCollection(TreeSet::new));
    }

    /** The kernels {@link KernelSources#KERNELS} lists for {@code file}, sorted. */
    static Set<String> expectedKernels(String file) {
        return KernelSources.KERNELS.stream().filter(k -> k.file().equals(file)).map(KernelSources.KernelSpec::name)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /**
     * Asserts that {@code cubin} is a CUBIN for {@code arch} ("sm_90") whose kernels are exactly those that
     * {@link KernelSources#KERNELS} lists for {@code file}, under their plain extern "C" names. Both
     * directions: a missing kernel would fail {@code cuModuleGetFunction} at run time; an extra one is a
     * kernel the Java side never launches, or one missing from the list.
     */
    static void assertKernels(String file, String arch, byte[] cubin) {
        CubinElf elf = parse(cubin);
        assertEquals(EM_CUDA, elf.machine(), () -> file + " for " + arch + ": e_machine is not EM_CUDA");
        int sm = Integer.parseInt(arch.substring(arch.indexOf('_') + 1).replaceAll("\\D", ""));
        assertEquals(sm, elf.smVersion(), () -> file + ": the CUBIN is not for " + arch);
        Set<String> expected = expectedKernels(file);
        assertEquals(expected, elf.kernels(), () -> file + " for " + arch
                + ": the CUBIN's kernel entry points differ from KernelSources.KERNELS (a C++-mangled _Z name means"
                + " a kernel outside extern \"C\")");
    }
}
