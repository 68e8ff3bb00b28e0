package example;

import dev.jresnet.cuda.DeviceTensor;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The CUDA engine's options and its calls: host arrays, direct buffers, device tensors, async. */
public final class Gpu {
    public static void main(String[] args) throws Exception {
        // ---- README begin ----
        List<RgbImage> images = List.of(ImageDecoder.decode(Path.of("samples/chelsea.png")),
                ImageDecoder.decode(Path.of("samples/coffee.png")));
        try (ResNet model = ResNet.builder()      // .weights(file): without one, the seeded untrained weights
                .device(Device.cuda(0))           // DeviceUnavailableException, with the reason, where CUDA cannot run
                .precision(Precision.FP16)        // FP32 (exact, the default), TF32, FP16
                .batchBuckets(1, 8, 32, 256)      // CUDA graph buckets (the default)
                .build()) {
            System.out.println(model.deviceDescription());     // the GPU, precision and buckets
            System.out.println(model.classify(images, 5));     // 8-bit crops normalised on the GPU (preprocess.cu)
            Tensor batch = model.preprocess(images);           // [2, 3, 224, 224]
            float[][] features = model.features(batch);        // [2][2048], fp32 in every precision
            CompletableFuture<float[][]> async = model.logitsAsync(batch);
            // Direct buffers: copied once to pinned memory and back. [n, 3, 224, 224] -> [n, 1000]
            FloatBuffer in = ByteBuffer.allocateDirect(4 * batch.size()).order(ByteOrder.nativeOrder()).asFloatBuffer();
            FloatBuffer out = ByteBuffer.allocateDirect(4 * 2 * 1000).order(ByteOrder.nativeOrder()).asFloatBuffer();
            in.put(batch.data()).flip();
            model.logits(in, 2, out);
            // Device tensors: no host round trip; fill the input from your own CUDA code (address()) or upload.
            try (DeviceTensor din = model.allocateInput(2); DeviceTensor dout = model.allocateOutput(2)) {
                din.upload(in);
                model.logits(din, dout);
                System.out.println(dout.toArray()[281] + " " + out.get(281) + " " + async.get()[0][281] + " "
                        + features[0].length);
            }
        }
        // ---- README end ----
    }
}
