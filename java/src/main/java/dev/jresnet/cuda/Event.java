package dev.jresnet.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;

import static org.bytedeco.cuda.global.cudart.*;

/** A CUDA event with timing ({@code cudaEventCreateWithFlags(&e, cudaEventDefault)}), for elapsed times. */
public final class Event extends CudaResource {
    private final CUevent_st event;

    private Event(CUevent_st event) {
        this.event = event;
    }

    public static Event create() {
        CUevent_st e = new CUevent_st();
        Cuda.check(cudaEventCreateWithFlags(e, cudaEventDefault), "cudaEventCreateWithFlags", "cudaEventDefault");
        return new Event(e);
    }

    public CUevent_st handle() {
        checkOpen();
        return event;
    }

    /** Records this event on {@code stream} ({@code cudaEventRecord}). */
    public void record(Stream stream) {
        checkOpen();
        Cuda.check(cudaEventRecord(event, stream.handle()), "cudaEventRecord");
    }

    /** Waits until the work recorded before this event is done. */
    public void synchronize() {
        checkOpen();
        Cuda.check(cudaEventSynchronize(event), "cudaEventSynchronize");
    }

    /** Milliseconds from {@code start} to this event, both recorded; waits for this event first. */
    public float elapsedMillisSince(Event start) {
        checkOpen();
        synchronize();
        float[] ms = {0};
        Cuda.check(cudaEventElapsedTime(ms, start.handle(), event), "cudaEventElapsedTime");
        return ms[0];
    }

    @Override
    protected String describe() {
        return "Event@" + Long.toHexString(event.address());
    }

    @Override
    protected void release() {
        Cuda.check(cudaEventDestroy(event), "cudaEventDestroy");
    }
}
