package dev.jresnet.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cublas.CUBLAS_STATUS_ALLOC_FAILED;
import static org.bytedeco.cuda.global.cudart.cudaErrorMemoryAllocation;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_BAD_PARAM;
import static org.bytedeco.cuda.global.nvrtc.NVRTC_ERROR_COMPILATION;
import static org.junit.jupiter.api.Assertions.*;

/** What can be checked without a GPU: messages, the close protocol, arena arithmetic, launch arguments. */
class CudaBasicsTest {

    @Test
    void successIsSilent() {
        Cuda.check(0, "cudaMalloc");
        Cuda.checkDriver(0, "cuInit");
        Cudnn.check(0, "cudnnCreate");
        Cublas.check(0, "cublasCreate");
        Nvrtc.check(0, "nvrtcCompileProgram");
    }

    @Test
    void failureNamesCallStatusAndContext() {
        CudaException e = assertThrows(CudaException.class, () -> Cudnn.check(CUDNN_STATUS_BAD_PARAM,
                "cudnnSetTensor4dDescriptor", "NCHW FP32 n=-1 c=3 h=224 w=224"));
        assertEquals("cudnnSetTensor4dDescriptor", e.call());
        assertEquals(CUDNN_STATUS_BAD_PARAM, e.status());
        assertEquals(CudaException.Library.CUDNN, e.library());
        assertTrue(e.getMessage().startsWith("cudnnSetTensor4dDescriptor failed: "), e.getMessage());
        assertTrue(e.getMessage().contains("(" + CUDNN_STATUS_BAD_PARAM + ")"), e.getMessage());
        assertTrue(e.getMessage().contains("[NCHW FP32 n=-1 c=3 h=224 w=224]"), e.getMessage());
        assertTrue(e.getMessage().contains(e.errorString()), e.getMessage());

        CudaException b = assertThrows(CudaException.class,
                () -> Cublas.check(CUBLAS_STATUS_ALLOC_FAILED, "cublasCreate", "for the classifier", new int[] {2, 3}));
        assertEquals("cublasCreate failed: CUBLAS_STATUS_ALLOC_FAILED (3) [for the classifier, [2, 3]]", b.getMessage());
        assertTrue(b.isOutOfMemory());

        CudaException m = assertThrows(CudaException.class,
                () -> Cuda.check(cudaErrorMemoryAllocation, "cudaMalloc", "requested 1 GiB for weights"));
        assertTrue(m.isOutOfMemory());
        assertTrue(m.getMessage().contains("requested 1 GiB for weights"), m.getMessage());

        CudaException n = assertThrows(CudaException.class,
                () -> Nvrtc.check(NVRTC_ERROR_COMPILATION, "nvrtcCompileProgram"));
        assertFalse(n.isOutOfMemory());
        assertEquals("", n.context());
    }

    @Test
    void byteCounts() {
        assertEquals("100 bytes", Checks.bytes(100));
        assertEquals("1073741824 bytes (1.00 GiB)", Checks.bytes(1L << 30));
        assertEquals("1536 bytes (1.50 KiB)", Checks.bytes(1536));
    }

    @Test
    void versionStrings() {
        assertEquals("13.0", Cuda.versionString(13000));
        assertEquals("13.1", Cuda.versionString(13010));
        assertEquals("9.19.0", Cudnn.versionString(91900));
        assertEquals("8.9.7", Cudnn.versionString(8907));
    }

    /** A resource that counts its releases. */
    static final class Counted extends CudaResource {
        final List<String> log = new ArrayList<>();

        void use() {
            checkOpen();
        }

        @Override
        protected String describe() {
            return "Counted";
        }

        @Override
        protected void release() {
            log.add("released");
        }
    }

    @Test
    void closeReleasesExactlyOnceAndUseAfterCloseThrows() {
        Counted r = new Counted();
        r.use();
        assertFalse(r.isClosed());
        r.close();
        r.close();
        assertEquals(List.of("released"), r.log);
        assertTrue(r.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, r::use);
        assertEquals("Counted is closed", e.getMessage());
    }

    @Test
    void buffersOfAClosedOwnerThrow() {
        Counted owner = new Counted();
        DeviceBuffer b = new DeviceBuffer(owner, 0x1000, 512, "test");
        assertEquals(0x1000, b.address());
        DeviceBuffer s = b.slice(256, 256);
        assertEquals(0x1100, s.address());
        assertThrows(IndexOutOfBoundsException.class, () -> b.slice(256, 257));
        assertThrows(IndexOutOfBoundsException.class, () -> b.slice(-1, 1));
        owner.close();
        assertThrows(IllegalStateException.class, b::address);
        assertThrows(IllegalStateException.class, s::pointer);
    }

    @Test
    void rawPointerCountsBytes() {
        RawPointer p = new RawPointer(0x1234, 100);
        assertEquals(1, p.sizeof());
        assertEquals(100, p.limit());
        assertEquals(0x1234, p.address());
    }

    @Test
    void rawPointerViewsHostMemoryAsBytes() {
        try (org.bytedeco.javacpp.BytePointer host = new org.bytedeco.javacpp.BytePointer(64)) {
            java.nio.ByteBuffer view = new RawPointer(host.address() + 16, 32).asByteBuffer();
            assertEquals(32, view.capacity());
            view.put(0, (byte) 42);
            assertEquals(42, host.get(16));
        }
    }

    @Test
    void onlyElfIsTakenForACubin() {
        byte[] elf = new byte[100];
        elf[0] = 0x7f;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        assertTrue(KernelCompiler.looksLikeCubin(elf));
        assertFalse(KernelCompiler.looksLikeCubin(new byte[] {1, 2, 3, 4}));
        assertFalse(KernelCompiler.looksLikeCubin(".version 8.0\n.target sm_90".getBytes()));
    }

    @Test
    void arenaArithmetic() {
        assertEquals(0, DeviceArena.align(0));
        assertEquals(256, DeviceArena.align(1));
        assertEquals(256, DeviceArena.align(256));
        assertEquals(512, DeviceArena.align(257));
        assertEquals(256 + 512 + 256, DeviceArena.sizeFor(4, 300, 256));
    }

    @Test
    void launchShapes() {
        assertEquals(196, Kernels.blocks(224 * 224, 256));
        assertEquals(1, Kernels.blocks(1, 256));
        assertEquals(0, Kernels.blocks(0, 256));
        assertEquals(64, Kernels.blocks(2048, 32));
    }

    @Test
    void launchArgumentsMustMatchTheKernel() {
        Counted owner = new Counted();
        DeviceBuffer b = new DeviceBuffer(owner, 0x1000, 512, "test");
        KernelSources.KernelSpec softmax = KernelSources.spec("softmax_rows_f32");
        Kernels.checkArgs(softmax, b, b, 1000);
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(softmax, b, b));
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(softmax, b, b, 1000L));
        KernelSources.KernelSpec f32ToF16 = KernelSources.spec("f32_to_f16");
        Kernels.checkArgs(f32ToF16, b, b, 10L);
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(f32ToF16, b, b, 10));
    }

    @Test
    void cacheKeyDependsOnSourceArchAndNvrtc() {
        KernelCompiler c = new KernelCompiler(java.nio.file.Path.of("/tmp/jresnet-kernels"));
        var a = c.cachePath("pool.cu", "src", "sm_90", "13.1");
        assertEquals(a, c.cachePath("pool.cu", "src", "sm_90", "13.1"));
        assertNotEquals(a, c.cachePath("pool.cu", "src2", "sm_90", "13.1"));
        assertNotEquals(a, c.cachePath("pool.cu", "src", "sm_89", "13.1"));
        assertNotEquals(a, c.cachePath("pool.cu", "src", "sm_90", "13.0"));
        assertTrue(a.getFileName().toString().matches("pool-sm_90-[0-9a-f]{64}\\.cubin"), a.toString());
    }

    @Test
    void availabilityIsConsistent() {
        CudaAvailability.Status s = CudaAvailability.status();
        assertNotNull(s.reason());
        assertEquals(s.usable(), s.deviceCount() > 0);
    }
}
