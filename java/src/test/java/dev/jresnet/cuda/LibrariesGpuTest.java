package dev.jresnet.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** cuDNN handle and descriptors, cuBLAS handle, on a real GPU. */
@Tag("gpu")
class LibrariesGpuTest {
    private static CudaContext context;
    private static Stream stream;
    private static CudnnHandle cudnn;

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        if (cudnn != null) {
            return;
        }
        if (context == null) {
            context = CudaContext.open(0);
            stream = Stream.create();
        }
        cudnn = CudnnHandle.create(stream);
    }

    @AfterAll
    static void close() {
        if (cudnn != null) {
            cudnn.close();
        }
        if (stream != null) {
            stream.close();
        }
        if (context != null) {
            context.close();
        }
    }

    @Test
    void badCudnnCallIsACudaException() {
        CudaException e = assertThrows(CudaException.class,
                () -> TensorDescriptor.nchw(ElementType.FP32, -1, 3, 224, 224));
        System.out.println(e.getMessage());
        assertEquals(CudaException.Library.CUDNN, e.library());
        assertEquals("cudnnSetTensor4dDescriptor", e.call());
        assertTrue(e.getMessage().contains("cudnnSetTensor4dDescriptor"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDNN_STATUS_BAD_PARAM"), e.getMessage()); // or a BAD_PARAM_* sub-code
        assertTrue(e.getMessage().contains(Cudnn.errorString(e.status())), e.getMessage());
        assertTrue(e.getMessage().contains("n=-1"), e.getMessage());
    }

    @Test
    void resnetStemShapes() {
        try (TensorDescriptor x = TensorDescriptor.nchw(ElementType.FP32, 1, 3, 224, 224);
             FilterDescriptor w = FilterDescriptor.create(Layout.NCHW, ElementType.FP32, 64, 3, 7, 7);
             ConvolutionDescriptor conv = ConvolutionDescriptor.create(3, 2, ElementType.FP32,
                     ConvolutionDescriptor.MathType.FMA)) {
            assertArrayEquals(new int[] {1, 64, 112, 112}, conv.outputDim(x, w));
            assertEquals(4L * 3 * 224 * 224, x.bytes());
        }
        try (TensorDescriptor x = TensorDescriptor.nhwc(ElementType.FP16, 8, 3, 224, 224);
             FilterDescriptor w = FilterDescriptor.create(Layout.NHWC, ElementType.FP16, 64, 3, 7, 7);
             ConvolutionDescriptor conv = ConvolutionDescriptor.create(3, 2, ElementType.FP32,
                     ConvolutionDescriptor.MathType.TENSOR_OP)) {
            assertArrayEquals(new int[] {8, 64, 112, 112}, conv.outputDim(x, w));
        }
        try (TensorDescriptor y = TensorDescriptor.nhwc(ElementType.FP16, 8, 64, 112, 112);
             PoolingDescriptor pool = PoolingDescriptor.max(3, 1, 2);
             ActivationDescriptor relu = ActivationDescriptor.relu()) {
            assertArrayEquals(new int[] {8, 64, 56, 56}, pool.outputDim(y));
            assertNotNull(relu.handle());
        }
    }

    @Test
    void descriptorsCloseOnce() {
        TensorDescriptor t = TensorDescriptor.nchw(ElementType.FP32, 1, 1, 1, 1);
        FilterDescriptor f = FilterDescriptor.create(Layout.NCHW, ElementType.FP32, 1, 1, 1, 1);
        ConvolutionDescriptor c = ConvolutionDescriptor.create(0, 1, ElementType.FP32, ConvolutionDescriptor.MathType.DEFAULT);
        ActivationDescriptor a = ActivationDescriptor.fusedRelu();
        PoolingDescriptor p = PoolingDescriptor.max(2, 0, 2);
        CudnnHandle h = CudnnHandle.create(stream);
        for (CudaResource r : new CudaResource[] {t, f, c, a, p, h}) {
            r.close();
            r.close();
            assertTrue(r.isClosed());
        }
        assertThrows(IllegalStateException.class, t::handle);
        assertThrows(IllegalStateException.class, f::handle);
        assertThrows(IllegalStateException.class, c::handle);
        assertThrows(IllegalStateException.class, a::handle);
        assertThrows(IllegalStateException.class, p::handle);
        assertThrows(IllegalStateException.class, h::handle);
    }

    @Test
    void cublasHandle() {
        GpuTests.assumeCublas();
        CublasHandle h = CublasHandle.create(stream);
        try {
            assertTrue(h.version() > 0);
            System.out.println("cuBLAS " + Cublas.version() + " (handle version " + h.version() + ")");
            h.setTf32(true);
            assertEquals(CublasHandle.MathMode.TF32, h.mathMode());
            h.setTf32(false);
            assertEquals(CublasHandle.MathMode.DEFAULT, h.mathMode());
            h.setMathMode(CublasHandle.MathMode.PEDANTIC);
        } finally {
            h.close();
        }
        h.close();
        assertThrows(IllegalStateException.class, h::handle);
        assertThrows(IllegalStateException.class, () -> h.setTf32(true));
    }
}
