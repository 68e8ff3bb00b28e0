package dev.jresnet.image;

import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import org.w3c.dom.NodeList;

import java.awt.image.IndexColorModel;
import java.io.IOException;

/**
 * A GIF's first frame as PIL gives it: ImageIO returns the frame alone (its own width x height), PIL the logical
 * screen (grown to hold the frame if the frame sticks out) with the frame pasted at its offset, and the rest filled
 * with the frame's transparent index, else index 0, looked up in the frame's palette. Later frames are ignored, as
 * {@code Image.open(f).convert("RGB")} ignores them.
 */
final class GifCanvas {
    /**
     * The canvas size, the frame's place on it, the palette index of the pixels outside the frame, and whether the
     * frame has a colour table, its own or the file's (without one PIL reads its indices as grey, mode L; ImageIO
     * warns and uses a colour cube).
     */
    record Layout(int width, int height, int left, int top, int fill, boolean colourTable) {
        boolean isFrameOnly(int frameWidth, int frameHeight) {
            return left == 0 && top == 0 && width == frameWidth && height == frameHeight;
        }
    }

    private GifCanvas() {}

    static Layout layout(ImageReader reader) throws IOException {
        int left = 0;
        int top = 0;
        int fill = 0;
        IIOMetadata image = reader.getImageMetadata(0);
        IIOMetadataNode root = (IIOMetadataNode) image.getAsTree("javax_imageio_gif_image_1.0");
        boolean table = root.getElementsByTagName("LocalColorTable").getLength() > 0;
        NodeList desc = root.getElementsByTagName("ImageDescriptor");
        if (desc.getLength() > 0) {
            IIOMetadataNode d = (IIOMetadataNode) desc.item(0);
            left = Integer.parseInt(d.getAttribute("imageLeftPosition"));
            top = Integer.parseInt(d.getAttribute("imageTopPosition"));
        }
        NodeList gce = root.getElementsByTagName("GraphicControlExtension");
        if (gce.getLength() > 0) {
            IIOMetadataNode g = (IIOMetadataNode) gce.item(0);
            if ("TRUE".equalsIgnoreCase(g.getAttribute("transparentColorFlag"))) {
                fill = Integer.parseInt(g.getAttribute("transparentColorIndex"));
            }
        }
        int width = left + reader.getWidth(0);
        int height = top + reader.getHeight(0);
        IIOMetadata stream = reader.getStreamMetadata();
        if (stream != null) {
            IIOMetadataNode tree = (IIOMetadataNode) stream.getAsTree("javax_imageio_gif_stream_1.0");
            table |= tree.getElementsByTagName("GlobalColorTable").getLength() > 0;
            NodeList screen = tree.getElementsByTagName("LogicalScreenDescriptor");
            if (screen.getLength() > 0) {
                IIOMetadataNode s = (IIOMetadataNode) screen.item(0);
                width = Math.max(width, Integer.parseInt(s.getAttribute("logicalScreenWidth")));
                height = Math.max(height, Integer.parseInt(s.getAttribute("logicalScreenHeight")));
            }
        }
        return new Layout(width, height, left, top, fill, table);
    }

    /** The frame's RGB pixels pasted on the canvas of {@code layout}; {@code palette} is the frame's. */
    static RgbImage paste(RgbImage frame, IndexColorModel palette, Layout layout) {
        if (layout.isFrameOnly(frame.width(), frame.height())) {
            return frame;
        }
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(layout.width(), layout.height()), 3)];
        int fill = Palettes.rgb(palette, layout.fill()); // past the colour table: PIL's grey (i, i, i)
        for (int i = 0; i < out.length; i += 3) {
            out[i] = (byte) (fill >> 16);
            out[i + 1] = (byte) (fill >> 8);
            out[i + 2] = (byte) fill;
        }
        for (int y = 0; y < frame.height(); y++) {
            System.arraycopy(frame.pixels(), y * frame.width() * 3, out,
                    ((layout.top() + y) * layout.width() + layout.left()) * 3, frame.width() * 3);
        }
        return new RgbImage(layout.width(), layout.height(), out);
    }
}
