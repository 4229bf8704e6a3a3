// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes a synthetic LoRA for the synthetic SDXL's UNet: what a typical SDXL LoRA targets, every
 * attention projection ({@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0} of
 * {@code attn1} and {@code attn2}) and feed-forward Linear ({@code ff.net.0.proj},
 * {@code ff.net.2}) of every transformer block, with random small float16 factors. The file is a
 * {@code .safetensors} written as the format defines it (8-byte little-endian header length, the
 * JSON header padded with spaces to a multiple of 8, the raw little-endian data), with
 * <ul>
 * <li>{@link Keys#PEFT} keys, as diffusers saves a PEFT LoRA: {@code unet.<module>.lora_A.weight}
 *     {@code [r, in]} and {@code .lora_B.weight} {@code [out, r]} (no alpha: scale 1); or</li>
 * <li>{@link Keys#KOHYA} keys, as kohya's sd-scripts saves an SDXL LoRA: the SGM block names
 *     ({@code lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q}) with
 *     {@code .lora_down.weight}, {@code .lora_up.weight} and {@code .alpha} = rank (scale 1).</li>
 * </ul>
 * The same seed gives the same factors under both key layouts. The targets come from the
 * architecture ({@link SyntheticConfig}), not from the graph, so a LoRA that maps onto the
 * synthetic UNet checks the graph's names too.
 *
 * <pre>java -cp benchmarks.jar io.sdxl4j.bench.synthetic.SyntheticLora --out FILE [--width W --depth D | --full] [--rank R] [--kohya]</pre>
 */
public final class SyntheticLora {

    /** The key layout of the file. */
    public enum Keys { PEFT, KOHYA }

    /**
     * One targeted Linear.
     *
     * @param module the diffusers module path ({@code down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q})
     * @param in     input features
     * @param out    output features
     */
    public record Target(String module, int in, int out) {
    }

    /**
     * What was written.
     *
     * @param modules    LoRA modules (targeted Linears)
     * @param parameters factor elements (Σ r · (in + out))
     * @param bytes      the file's size
     */
    public record Summary(int modules, long parameters, long bytes) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> ATTENTION = List.of("to_q", "to_k", "to_v", "to_out.0");

    private SyntheticLora() {
    }

    /** The UNet's attention projections and feed-forward Linears, in graph order. */
    public static List<Target> targets(SyntheticConfig c) {
        List<Target> out = new ArrayList<>();
        int[] ch = c.blockChannels();
        int last = ch.length - 1;
        for (int level = 0; level < ch.length; level++) {
            for (int i = 0; i < c.layersPerBlock(); i++) {
                transformer(out, c, "down_blocks." + level + ".attentions." + i, level);
            }
        }
        transformer(out, c, "mid_block.attentions.0", last);
        for (int level = last; level >= 0; level--) {
            for (int i = 0; i <= c.layersPerBlock(); i++) {
                transformer(out, c, "up_blocks." + (last - level) + ".attentions." + i, level);
            }
        }
        return out;
    }

    private static void transformer(List<Target> out, SyntheticConfig c, String prefix, int level) {
        int channels = c.blockChannels()[level];
        int context = c.crossAttentionDim();
        for (int b = 0; b < c.transformerDepth()[level]; b++) {
            String block = prefix + ".transformer_blocks." + b + ".";
            for (String p : ATTENTION) {
                out.add(new Target(block + "attn1." + p, channels, channels));
            }
            for (String p : ATTENTION) {
                boolean kv = p.equals("to_k") || p.equals("to_v");
                out.add(new Target(block + "attn2." + p, kv ? context : channels, channels));
            }
            out.add(new Target(block + "ff.net.0.proj", channels, 8 * channels));
            out.add(new Target(block + "ff.net.2", 4 * channels, channels));
        }
    }

    /**
     * Kohya's key stem for a diffusers UNet module: its block in the SGM (LDM) numbering, which
     * kohya's SDXL LoRAs use, dots written as underscores: {@code down_blocks.1.attentions.0.…} →
     * {@code lora_unet_input_blocks_4_1_…} (for {@code layers_per_block} 2), {@code mid_block.attentions.0}
     * → {@code middle_block_1}, {@code up_blocks.0.attentions.2} → {@code output_blocks_2_1}.
     */
    public static String kohyaStem(String module, int layersPerBlock) {
        String[] t = module.split("\\.");
        String sgm;
        String rest;
        if (t[0].equals("down_blocks") && t[2].equals("attentions")) {
            int block = Integer.parseInt(t[1]);
            int layer = Integer.parseInt(t[3]);
            sgm = "input_blocks." + (1 + block * (layersPerBlock + 1) + layer) + ".1";
            rest = module.substring(module.indexOf(".attentions.") + ".attentions.".length() + t[3].length() + 1);
        } else if (t[0].equals("mid_block") && t[1].equals("attentions")) {
            sgm = "middle_block.1";
            rest = module.substring("mid_block.attentions.0.".length());
        } else if (t[0].equals("up_blocks") && t[2].equals("attentions")) {
            int block = Integer.parseInt(t[1]);
            int layer = Integer.parseInt(t[3]);
            sgm = "output_blocks." + (block * (layersPerBlock + 1) + layer) + ".1";
            rest = module.substring(module.indexOf(".attentions.") + ".attentions.".length() + t[3].length() + 1);
        } else {
            throw new IllegalArgumentException("not a transformer module: " + module);
        }
        return "lora_unet_" + (sgm + "." + rest).replace('.', '_');
    }

    /**
     * Writes the LoRA of {@code config}'s UNet to {@code file} (through a temporary file beside it,
     * moved into place when complete).
     *
     * @param rank the LoRA rank (32 is common for SDXL)
     * @param seed the seed of the factors
     */
    public static Summary write(SyntheticConfig config, Path file, int rank, Keys keys, long seed) throws IOException {
        List<Target> targets = targets(config);
        ObjectNode header = JSON.createObjectNode();
        ObjectNode metadata = header.putObject("__metadata__");
        metadata.put("format", "pt");
        metadata.put("sdxl4j_synthetic", config + ", rank " + rank);
        if (keys == Keys.KOHYA) {
            metadata.put("ss_network_module", "networks.lora");
            metadata.put("ss_network_dim", Integer.toString(rank));
            metadata.put("ss_network_alpha", Integer.toString(rank));
            metadata.put("ss_base_model_version", "sdxl_base_v1-0");
        }
        long offset = 0;
        long parameters = 0;
        for (Target t : targets) {
            String[] names = names(t, keys, config.layersPerBlock());
            offset = entry(header, names[0], new long[] {rank, t.in()}, offset);
            offset = entry(header, names[1], new long[] {t.out(), rank}, offset);
            if (keys == Keys.KOHYA) {
                offset = entry(header, names[2], new long[0], offset);
            }
            parameters += (long) rank * (t.in() + t.out());
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] head = new byte[padded];
        System.arraycopy(json, 0, head, 0, json.length);
        java.util.Arrays.fill(head, json.length, padded, (byte) ' ');

        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        Weights random = new Weights(seed);
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer lead = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).flip();
            ByteBuffer headBytes = ByteBuffer.wrap(head);
            while (lead.hasRemaining() || headBytes.hasRemaining()) {
                channel.write(lead.hasRemaining() ? lead : headBytes);
            }
            for (Target t : targets) {
                // lora_A / lora_down [r, in]: uniform ±√(3/in), as a Kaiming-initialised down projection;
                // lora_B / lora_up [out, r]: small, as after some training (B starts at zero).
                float down = (float) Math.sqrt(3.0 / t.in());
                put(channel, buffer, random, (long) rank * t.in(), down);
                put(channel, buffer, random, (long) t.out() * rank, 0.01f);
                if (keys == Keys.KOHYA) {
                    putHalf(channel, buffer, rank);
                }
            }
            flush(channel, buffer);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new Summary(targets.size(), parameters, Files.size(file));
    }

    /** The keys of one target's tensors: down, up (and alpha for kohya). */
    static String[] names(Target t, Keys keys, int layersPerBlock) {
        if (keys == Keys.PEFT) {
            String stem = "unet." + t.module();
            return new String[] {stem + ".lora_A.weight", stem + ".lora_B.weight"};
        }
        String stem = kohyaStem(t.module(), layersPerBlock);
        return new String[] {stem + ".lora_down.weight", stem + ".lora_up.weight", stem + ".alpha"};
    }

    private static long entry(ObjectNode header, String key, long[] shape, long offset) {
        long count = 1;
        ObjectNode e = header.putObject(key);
        e.put("dtype", "F16");
        ArrayNode dims = e.putArray("shape");
        for (long d : shape) {
            dims.add(d);
            count *= d;
        }
        long end = offset + 2 * count;
        e.putArray("data_offsets").add(offset).add(end);
        return end;
    }

    private static void put(FileChannel channel, ByteBuffer buffer, Weights random, long count, float bound)
            throws IOException {
        for (long i = 0; i < count; i++) {
            putHalf(channel, buffer, random.uniform(bound));
        }
    }

    private static void putHalf(FileChannel channel, ByteBuffer buffer, float v) throws IOException {
        if (buffer.remaining() < 2) {
            flush(channel, buffer);
        }
        buffer.putShort(Float.floatToFloat16(v));
    }

    private static void flush(FileChannel channel, ByteBuffer buffer) throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
    }

    /** Command line: writes a LoRA file for the synthetic UNet of the given size and prints its summary. */
    public static void main(String[] args) throws IOException {
        Path out = null;
        double width = 0.25;
        double depth = 0.2;
        boolean full = false;
        int rank = 32;
        Keys keys = Keys.PEFT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--width" -> width = Double.parseDouble(args[++i]);
                case "--depth" -> depth = Double.parseDouble(args[++i]);
                case "--full" -> full = true;
                case "--rank" -> rank = Integer.parseInt(args[++i]);
                case "--kohya" -> keys = Keys.KOHYA;
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; usage: --out FILE [--width W --depth D | --full] [--rank R] [--kohya]");
            }
        }
        if (out == null) {
            throw new IllegalArgumentException("--out FILE is required");
        }
        SyntheticConfig config = full ? SyntheticConfig.full() : SyntheticConfig.scaled(width, depth);
        Summary s = write(config, out, rank, keys, 0x10AL);
        System.out.println(String.format(Locale.ROOT, "%s: %d modules, %,d parameters, %,d bytes (%s keys, rank %d)",
                out, s.modules(), s.parameters(), s.bytes(), keys.name().toLowerCase(Locale.ROOT), rank));
    }
}
