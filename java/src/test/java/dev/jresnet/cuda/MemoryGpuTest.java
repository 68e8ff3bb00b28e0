package dev.jresnet.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Device memory, arena, workspace, pinned buffers, streams and events on a real GPU. */
@Tag("gpu")
class MemoryGpuTest {
    private static CudaContext context;
    private static Stream stream;

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void open() {
        GpuTests.assumeGpu();
        if (context != null) {
            return;
        }
        context = CudaContext.open(0);
        stream = Stream.create();
    }

    @AfterAll
    static void close() {
        if (stream != null) {
            stream.close();
        }
        if (context != null) {
            context.close();
        }
    }

    private static float[] randomFloats(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Test
    void deviceProperties() {
        CudaDevice d = context.device();
        System.out.println(d + "; driver " + Cuda.versionString(context.driverVersion()) + ", runtime "
                + Cuda.versionString(context.runtimeVersion()) + "; " + context.memoryInfo());
        assertFalse(d.name().isBlank());
        assertTrue(d.totalMemory() > 0);
        assertTrue(d.major() >= 5, "compute capability " + d.major() + "." + d.minor());
        assertEquals("sm_" + d.major() + d.minor(), d.arch());
        assertTrue(context.driverVersion() >= 12000);
        assertTrue(context.runtimeVersion() >= 12000);
        CudaContext.MemoryInfo m = context.memoryInfo();
        assertTrue(m.free() > 0 && m.free() <= m.total());
        assertEquals(Cuda.deviceCount(), CudaDevice.all().size());
    }

    @Test
    void deviceMemoryRoundTrips() {
        float[] f = randomFloats(10_001, 1);
        short[] s = new short[777];
        byte[] b = new byte[333];
        new Random(2).nextBytes(b);
        for (int i = 0; i < s.length; i++) {
            s[i] = (short) (i * 97);
        }
        try (DeviceMemory m = DeviceMemory.allocate(4L * f.length, "round trip")) {
            assertEquals(4L * f.length, m.bytes());
            DeviceBuffer buf = m.buffer();
            buf.upload(stream, f);
            float[] back = new float[f.length];
            buf.download(stream, back);
            assertArrayEquals(f, back);

            buf.upload(stream, s);
            short[] sBack = new short[s.length];
            buf.download(stream, sBack);
            assertArrayEquals(s, sBack);

            buf.slice(1000, b.length).upload(stream, b);
            byte[] bBack = new byte[b.length];
            buf.slice(1000, b.length).download(stream, bBack);
            assertArrayEquals(b, bBack);

            buf.fill(stream, 0);
            buf.download(stream, back);
            assertArrayEquals(new float[f.length], back);

            assertThrows(IndexOutOfBoundsException.class, () -> buf.upload(stream, new float[f.length + 1]));
        }
    }

    @Test
    void deviceToDeviceAndPinnedCopies() {
        int n = 50_000;
        float[] data = randomFloats(n, 3);
        long bytes = 4L * n;
        try (PinnedBuffer in = PinnedBuffer.allocate(bytes, "pinned input");
             PinnedBuffer out = PinnedBuffer.allocate(bytes, "pinned output");
             DeviceMemory a = DeviceMemory.allocate(bytes, "a");
             DeviceMemory b = DeviceMemory.allocate(bytes, "b")) {
            FloatBuffer fin = in.asFloatBuffer();
            assertEquals(n, fin.capacity());
            fin.put(data);
            a.buffer().copyFrom(stream, in, 0, 0, bytes);
            b.buffer().copyFrom(stream, a.buffer());
            b.buffer().copyTo(stream, out, 0, 0, bytes);
            stream.synchronize();
            float[] back = new float[n];
            out.asFloatBuffer().get(back);
            assertArrayEquals(data, back);

            // partial copies with offsets
            out.asByteBuffer().put(0, new byte[(int) bytes]);
            b.buffer().copyTo(stream, out, 400, 800, 1200);
            stream.synchronize();
            float[] part = new float[n];
            out.asFloatBuffer().get(part);
            for (int i = 0; i < n; i++) {
                float expected = i >= 200 && i < 500 ? data[i - 100] : 0f;
                assertEquals(expected, part[i], "element " + i);
            }
        }
    }

    @Test
    void arenaSlicesAreAlignedAndSeparate() {
        long[] sizes = {100, 1000, 4, 256, 3000};
        long capacity = DeviceArena.sizeFor(sizes);
        try (DeviceArena arena = DeviceArena.create(capacity, "test arena")) {
            DeviceBuffer[] slices = new DeviceBuffer[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                slices[i] = arena.slice(sizes[i], "slice " + i);
                assertEquals(0, slices[i].address() % DeviceArena.ALIGNMENT, "slice " + i + " alignment");
                assertEquals(sizes[i], slices[i].bytes());
            }
            assertEquals(capacity, arena.used());
            assertEquals(0, arena.remaining());
            for (int i = 0; i < sizes.length; i++) {
                byte[] pattern = new byte[(int) sizes[i]];
                Arrays.fill(pattern, (byte) (i + 1));
                slices[i].upload(stream, pattern);
            }
            for (int i = 0; i < sizes.length; i++) {
                byte[] back = new byte[(int) sizes[i]];
                slices[i].download(stream, back);
                for (byte v : back) {
                    assertEquals(i + 1, v, "slice " + i + " was overwritten by a neighbour");
                }
            }
            CudaException e = assertThrows(CudaException.class, () -> arena.slice(1, "one byte too many"));
            assertTrue(e.isOutOfMemory());
            assertTrue(e.getMessage().contains("one byte too many"), e.getMessage());
            assertTrue(e.getMessage().contains("requested 1 bytes"), e.getMessage());
            assertEquals(List.of("slice 0", "slice 1", "slice 2", "slice 3", "slice 4"),
                    arena.slices().stream().map(DeviceArena.Slice::what).toList());

            arena.reset();
            assertEquals(0, arena.used());
            assertEquals(slices[0].address(), arena.slice(10, "again").address());
        }
    }

    @Test
    void workspaceGrowsOnlyWhenAskedForMore() {
        try (Workspace ws = new Workspace(stream, "test convolution")) {
            assertEquals(0, ws.bytes());
            assertEquals(0, ws.ensure(0).bytes());
            DeviceBuffer first = ws.ensure(1000);
            assertEquals(1024, ws.bytes());
            long address = first.address();
            DeviceBuffer again = ws.ensure(500);
            assertEquals(address, again.address());
            assertEquals(1024, ws.bytes());
            DeviceBuffer grown = ws.ensure(5000);
            assertEquals(5120, ws.bytes());
            assertThrows(IllegalStateException.class, first::address, "a buffer from before the growth is dead");
            float[] data = randomFloats(1280, 4);
            grown.upload(stream, data);
            float[] back = new float[data.length];
            grown.download(stream, back);
            assertArrayEquals(data, back);
        }
    }

    @Test
    void outOfMemoryNamesBytesAndPurpose() {
        long impossible = 1L << 50; // 1 PiB
        CudaException e = assertThrows(CudaException.class,
                () -> DeviceMemory.allocate(impossible, "an impossible test tensor"));
        System.out.println(e.getMessage());
        assertEquals("cudaMalloc", e.call());
        assertTrue(e.isOutOfMemory(), e.getMessage());
        assertTrue(e.getMessage().contains(impossible + " bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("an impossible test tensor"), e.getMessage());
        try (DeviceMemory ok = DeviceMemory.allocate(1024, "after the failure")) {
            ok.buffer().fill(stream, 0);
            stream.synchronize();
        }
    }

    @Test
    void eventsMeasureTime() {
        try (Event start = Event.create(); Event end = Event.create();
             DeviceMemory m = DeviceMemory.allocate(64L << 20, "timing")) {
            start.record(stream);
            m.buffer().fill(stream, 1);
            end.record(stream);
            float ms = end.elapsedMillisSince(start);
            System.out.println("memset of 64 MiB: " + ms + " ms");
            assertTrue(ms >= 0, "elapsed " + ms);
        }
    }

    @Test
    void closeTwiceAndUseAfterClose() {
        DeviceMemory m = DeviceMemory.allocate(256, "closing");
        DeviceBuffer b = m.buffer();
        m.close();
        m.close();
        assertThrows(IllegalStateException.class, m::buffer);
        assertThrows(IllegalStateException.class, b::pointer);

        Stream s = Stream.create();
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, s::synchronize);

        Event e = Event.create();
        e.close();
        e.close();
        assertThrows(IllegalStateException.class, e::synchronize);

        PinnedBuffer p = PinnedBuffer.allocate(256, "closing");
        p.close();
        p.close();
        assertThrows(IllegalStateException.class, p::asByteBuffer);

        DeviceArena a = DeviceArena.create(1024, "closing");
        DeviceBuffer slice = a.slice(16, "slice");
        a.close();
        a.close();
        assertThrows(IllegalStateException.class, () -> a.slice(16, "after close"));
        assertThrows(IllegalStateException.class, slice::address);

        Workspace w = new Workspace(stream, "closing");
        DeviceBuffer wb = w.ensure(100);
        w.close();
        w.close();
        assertThrows(IllegalStateException.class, () -> w.ensure(10));
        assertThrows(IllegalStateException.class, wb::address);
    }
}
