package dev.jresnet.cpu;

/**
 * How a convolution cuts the batch's output columns (N images x P*Q positions) into parallel work items.
 * Large images are cut into equal chunks each (the last chunk of an image may be shorter); small images
 * (fewer positions than a chunk) are cut across the batch, a multiple of the thread count of chunks, so a
 * chunk may span several images.
 *
 * @param chunk          columns per item (a multiple of 16, the GEMM's panel width)
 * @param chunksPerImage items per image when images are cut one by one; 0 when chunks span the batch
 * @param items          the number of work items
 */
record ColumnChunks(int n, int pq, int chunk, int chunksPerImage, int items) {
    /** {@code singleWhenSmall}: one chunk for a whole small batch (callers that cut the rows instead). */
    static ColumnChunks plan(int n, int pq, int maxChunk, boolean singleWhenSmall) {
        int chunk;
        if (pq >= maxChunk) {
            chunk = Gemm.roundUp(Gemm.ceilDiv(pq, Gemm.ceilDiv(pq, maxChunk)), 16);
        } else {
            int total = n * pq;
            int threads = Parallel.threads();
            int chunks = threads * Gemm.ceilDiv(total, threads * maxChunk);
            if (singleWhenSmall && total <= maxChunk) {
                chunks = 1;
            }
            chunk = Math.min(maxChunk, Gemm.roundUp(Gemm.ceilDiv(total, chunks), 16));
        }
        int chunksPerImage = pq >= maxChunk ? Gemm.ceilDiv(pq, chunk) : 0;
        int items = pq >= maxChunk ? n * chunksPerImage : Gemm.ceilDiv(n * pq, chunk);
        return new ColumnChunks(n, pq, chunk, chunksPerImage, items);
    }

    /** The item's first column in the batch-wide column sequence (image * P*Q + position). */
    long first(int item) {
        if (chunksPerImage > 0) {
            return (long) (item / chunksPerImage) * pq + (long) (item % chunksPerImage) * chunk;
        }
        return (long) item * chunk;
    }

    /** The item's number of columns. */
    int width(int item) {
        if (chunksPerImage > 0) {
            return Math.min(chunk, pq - (item % chunksPerImage) * chunk);
        }
        return (int) Math.min(chunk, (long) n * pq - first(item));
    }
}
