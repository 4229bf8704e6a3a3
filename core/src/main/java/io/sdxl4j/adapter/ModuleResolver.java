// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import io.sdxl4j.SdxlException;
import io.sdxl4j.model.Component;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Finds the weight of one component's ONNX graph that an adapter module targets.
 *
 * <p>Dotted targets (diffusers / PEFT keys) are matched as suffixes of the graph's module paths.
 * Kohya's underscore targets go through diffusers' conversion first: for the UNet,
 * {@code _maybe_map_sgm_blocks_to_diffusers} (SGM / LDM block names → diffusers blocks, with the
 * model's {@code layers_per_block}) and the resnet renames of {@code _convert_unet_lora_key}
 * ({@code in_layers_2} → {@code conv1}, {@code out_layers_3} → {@code conv2}, {@code emb_layers_1}
 * → {@code time_emb_proj}, {@code skip_connection} → {@code conv_shortcut}, a downsampler's
 * {@code op} → {@code conv}). Where diffusers then undoes {@code _} → {@code .} by a list of
 * rules, this matches the name against the model's own module paths with their dots written as
 * underscores: the model decides which {@code _} was a dot. Text-encoder targets match with or
 * without transformers' {@code text_model.} level (transformers ≥ 5.6 exports CLIP text encoder 1
 * without it).
 */
final class ModuleResolver {

    private static final String[] INNER = {"resnets", "attentions", "upsamplers"};

    private final OnnxModel model;
    private final Component component;
    private final int layersPerBlock;

    ModuleResolver(OnnxModel model, Component component) {
        this.model = model;
        this.component = component;
        // SDXL's UNet has 2 (diffusers takes it from the UNet config; here from the graph).
        this.layersPerBlock = component == Component.UNET ? model.layersPerBlock(2) : 2;
    }

    /**
     * The weight {@code module} of {@code adapterFile} targets.
     *
     * @throws SdxlException naming the adapter file, the key and the component when the model has
     *                       no such weight or more than one
     */
    OnnxModel.Weight resolve(AdapterModule module, Path adapterFile) {
        String name = module.target();
        List<OnnxModel.Weight> found;
        String looked;
        if (module.underscored()) {
            looked = component == Component.UNET ? diffusersName(name, module, adapterFile) : stripTextModel(name, "_");
            found = model.byUnderscoreSuffix(looked);
        } else {
            looked = component == Component.UNET ? name : stripTextModel(name, ".");
            found = model.byDottedSuffix(looked);
        }
        if (found.isEmpty()) {
            throw new SdxlException(adapterFile + ": key " + module.stem() + " targets " + describe(looked, module)
                    + ", which " + model.label() + " has no weight for (no MatMul, Gemm or Conv of that module)");
        }
        if (found.size() > 1) {
            throw new SdxlException(adapterFile + ": key " + module.stem() + " targets " + describe(looked, module)
                    + ", which matches several weights of " + model.label() + ": "
                    + found.stream().map(OnnxModel.Weight::node).collect(Collectors.joining(", ")));
        }
        return found.get(0);
    }

    private static String describe(String looked, AdapterModule module) {
        return module.underscored() && !looked.equals(module.target()) ? looked + " (from " + module.target() + ")"
                : looked;
    }

    private static String stripTextModel(String name, String separator) {
        String prefix = "text_model" + separator;
        return name.startsWith(prefix) ? name.substring(prefix.length()) : name;
    }

    /**
     * Kohya's UNet stem in diffusers' names, still with {@code _} for {@code .}: the SGM blocks
     * mapped as diffusers' {@code _maybe_map_sgm_blocks_to_diffusers} maps them, then the resnet
     * leaf names renamed as {@code _convert_unet_lora_key} renames them.
     */
    String diffusersName(String stem, AdapterModule module, Path adapterFile) {
        String mapped = sgmToDiffusers(stem, module, adapterFile);
        return renameLeaf(mapped);
    }

    private String sgmToDiffusers(String stem, AdapterModule module, Path adapterFile) {
        String[] t = stem.split("_");
        try {
            if (stem.startsWith("input_blocks_")) {
                int i = Integer.parseInt(t[2]);
                int inner = Integer.parseInt(t[3]);
                String rest = join(t, 4);
                if (i == 0) {
                    // input_blocks.0.0 is conv_in (LDM); diffusers' mapping has no case for it.
                    return "conv_in" + suffix(rest);
                }
                int block = (i - 1) / (layersPerBlock + 1);
                int layer = (i - 1) % (layersPerBlock + 1);
                if (rest.equals("op")) {
                    // Each down block's last input block holds its downsampler: op → downsamplers.0.conv.
                    return "down_blocks_" + block + "_downsamplers_0_conv";
                }
                if (inner > 1) {
                    throw badKey(adapterFile, module, "input block " + i + " has no part " + inner);
                }
                return "down_blocks_" + block + "_" + INNER[inner] + "_" + layer + suffix(rest);
            }
            if (stem.startsWith("middle_block_")) {
                int i = Integer.parseInt(t[2]);
                String rest = join(t, 3);
                String part = switch (i) {
                    case 0 -> "resnets_0";
                    case 1 -> "attentions_0";
                    case 2 -> "resnets_1";
                    default -> throw badKey(adapterFile, module, "the middle block has no part " + i);
                };
                return "mid_block_" + part + suffix(rest);
            }
            if (stem.startsWith("output_blocks_")) {
                int i = Integer.parseInt(t[2]);
                int inner = Integer.parseInt(t[3]);
                String rest = join(t, 4);
                int block = i / (layersPerBlock + 1);
                int layer = i % (layersPerBlock + 1);
                if (inner > 2) {
                    throw badKey(adapterFile, module, "output block " + i + " has no part " + inner);
                }
                // An up block without attentions keeps its upsampler at index 1 (output_blocks.2.1.conv in
                // SD 1.x); diffusers' map reads every 1 as attentions. The model says which it is.
                if (inner == 1 && rest.equals("conv") && !model.hasModuleContaining("up_blocks." + block + ".attentions")) {
                    inner = 2;
                }
                return "up_blocks_" + block + "_" + INNER[inner] + "_" + (inner < 2 ? layer : 0) + suffix(rest);
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw badKey(adapterFile, module, "not an SGM block name");
        }
        // The LDM names of the embeddings and the output conv (stable-diffusion.cpp and ComfyUI map
        // them; diffusers' conversion stops at them).
        if (stem.startsWith("time_embed_0")) {
            return "time_embedding_linear_1" + stem.substring("time_embed_0".length());
        }
        if (stem.startsWith("time_embed_2")) {
            return "time_embedding_linear_2" + stem.substring("time_embed_2".length());
        }
        if (stem.startsWith("label_emb_0_0")) {
            return "add_embedding_linear_1" + stem.substring("label_emb_0_0".length());
        }
        if (stem.startsWith("label_emb_0_2")) {
            return "add_embedding_linear_2" + stem.substring("label_emb_0_2".length());
        }
        if (stem.equals("out_2")) {
            return "conv_out";
        }
        return stem;
    }

    /** diffusers' resnet renames, on the last segments of the name only. */
    static String renameLeaf(String name) {
        String[][] renames = {
                {"_in_layers_2", "_conv1"},
                {"_out_layers_3", "_conv2"},
                {"_emb_layers_1", "_time_emb_proj"},
                {"_skip_connection", "_conv_shortcut"},
        };
        for (String[] r : renames) {
            if (name.endsWith(r[0])) {
                return name.substring(0, name.length() - r[0].length()) + r[1];
            }
        }
        if (name.contains("_downsamplers_") && name.endsWith("_op")) {
            return name.substring(0, name.length() - 3) + "_conv";
        }
        return name;
    }

    private static String join(String[] t, int from) {
        return from >= t.length ? "" : String.join("_", java.util.Arrays.copyOfRange(t, from, t.length));
    }

    private static String suffix(String rest) {
        return rest.isEmpty() ? "" : "_" + rest;
    }

    private static SdxlException badKey(Path adapterFile, AdapterModule module, String why) {
        return new SdxlException(adapterFile + ": key " + module.stem() + ": " + why);
    }
}
