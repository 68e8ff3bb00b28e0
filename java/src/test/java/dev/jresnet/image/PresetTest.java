package dev.jresnet.image;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PresetTest {
    @Test
    void namesAndSizes() {
        assertSame(Preset.TORCHVISION_V1, Preset.fromName("torchvision-v1"));
        assertSame(Preset.TORCHVISION_V2, Preset.fromName("torchvision-v2"));
        assertEquals(256, Preset.TORCHVISION_V1.resizeSize());
        assertEquals(232, Preset.TORCHVISION_V2.resizeSize());
        assertEquals(224, Preset.TORCHVISION_V1.cropSize());
        assertEquals(224, Preset.TORCHVISION_V2.cropSize());
        assertArrayEquals(new float[] {0.485f, 0.456f, 0.406f}, Preset.TORCHVISION_V2.mean());
        assertArrayEquals(new float[] {0.229f, 0.224f, 0.225f}, Preset.TORCHVISION_V2.std());
    }

    @Test
    void unknownNameListsTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preset.fromName("imagenet"));
        assertTrue(e.getMessage().contains("imagenet"), e.getMessage());
        assertTrue(e.getMessage().contains("torchvision-v1, torchvision-v2"), e.getMessage());
    }

    @Test
    void normalizeIsChwFloat32InTorchOrder() {
        byte[] px = new byte[224 * 224 * 3];
        px[0] = (byte) 255; // R of (0,0)
        px[(224 + 1) * 3 + 2] = (byte) 128; // B of (1,1)
        Tensor t = Preset.TORCHVISION_V1.normalize(new RgbImage(224, 224, px));
        assertArrayEquals(new int[] {3, 224, 224}, t.shape().dims());
        float[] d = t.data();
        assertEquals((1f - 0.485f) / 0.229f, d[0]);
        assertEquals((0f - 0.456f) / 0.224f, d[224 * 224]);
        assertEquals((128 / 255f - 0.406f) / 0.225f, d[2 * 224 * 224 + 224 + 1]);
    }

    @Test
    void preprocessGivesTheNetworkInput() {
        RgbImage img = new RgbImage(300, 200, new byte[300 * 200 * 3]);
        RgbImage cropped = Preset.TORCHVISION_V2.resizeAndCrop(img);
        assertEquals(224, cropped.width());
        assertEquals(224, cropped.height());
        assertArrayEquals(new int[] {3, 224, 224}, Preset.TORCHVISION_V2.preprocess(img).shape().dims());
    }

    @Test
    void normalizeRejectsUncroppedImages() {
        RgbImage img = new RgbImage(256, 224, new byte[256 * 224 * 3]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preset.TORCHVISION_V1.normalize(img));
        assertTrue(e.getMessage().contains("256x224"), e.getMessage());
    }
}
