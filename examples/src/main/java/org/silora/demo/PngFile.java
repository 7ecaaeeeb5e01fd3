package org.silora.demo;

import org.silora.hf.AtomicFiles;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Writes {@link Plots}' images as PNG files: atomically (a temporary file in the target's folder, renamed when
 * complete, so a failed or interrupted write leaves the previous file or none), with text chunks {@code Software=silora}
 * and {@code Title=<chart title>}.
 *
 * <pre>{@code
 * PngFile.write(image, out.resolve("front.png"), "Domain accuracy vs forgetting");
 * }</pre>
 */
final class PngFile {

    private PngFile() {
    }

    /** Writes the PNG atomically with tEXt chunks Software and Title (iTXt for a title that is not Latin-1). */
    static void write(BufferedImage img, Path file, String title) throws IOException {
        ImageWriter w = ImageIO.getImageWritersByFormatName("png").next();
        try {
            ImageWriteParam param = w.getDefaultWriteParam();
            IIOMetadata meta = w.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), param);
            String fmt = "javax_imageio_png_1.0";
            IIOMetadataNode root = new IIOMetadataNode(fmt);
            IIOMetadataNode text = new IIOMetadataNode("tEXt");
            text.appendChild(entry("tEXtEntry", "Software", "silora"));
            if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(title)) {
                text.appendChild(entry("tEXtEntry", "Title", title));
            } else {
                IIOMetadataNode itxt = new IIOMetadataNode("iTXt");
                IIOMetadataNode e = entry("iTXtEntry", "Title", title);
                e.setAttribute("compressionFlag", "FALSE");
                e.setAttribute("compressionMethod", "0");
                e.setAttribute("languageTag", "");
                e.setAttribute("translatedKeyword", "");
                itxt.appendChild(e);
                root.appendChild(itxt);
            }
            root.insertBefore(text, root.getFirstChild());
            meta.mergeTree(fmt, root);
            IIOImage image = new IIOImage(img, null, meta);
            // in-memory cache: ImageIO's default file cache would put its own temporary file in java.io.tmpdir
            AtomicFiles.write(file, os -> {
                try (ImageOutputStream ios = new MemoryCacheImageOutputStream(os)) {
                    w.setOutput(ios);
                    w.write(null, image, param);
                }
            });
        } finally {
            w.dispose();
        }
    }

    private static IIOMetadataNode entry(String name, String keyword, String value) {
        IIOMetadataNode e = new IIOMetadataNode(name);
        e.setAttribute("keyword", keyword);
        e.setAttribute(name.equals("iTXtEntry") ? "text" : "value", value);
        return e;
    }
}
