// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's attention syntax ({@code prompt_parser.parse_prompt_attention}): {@code (text)}
 * multiplies the weight by 1.1, {@code [text]} divides it by 1.1, {@code (text:w)} multiplies it by
 * w, brackets nest, unbalanced brackets close at the end, {@code \(} {@code \)} {@code \[} {@code \]}
 * {@code \\} are literal, and {@code BREAK} ends a chunk. Adjacent runs of equal weight merge.
 */
public final class WeightedPrompt {

    /** A run of text with its weight; {@link #isBreak()} for a BREAK. */
    public record Segment(String text, double weight) {
        public boolean isBreak() {
            return weight == -1 && text.equals("BREAK");
        }
    }

    private static final Pattern ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:");
    private static final Pattern BREAK = Pattern.compile("\\s*\\bBREAK\\b\\s*", Pattern.DOTALL);
    private static final double ROUND = 1.1;
    private static final double SQUARE = 1 / 1.1;

    private WeightedPrompt() {
    }

    /** Parses a prompt into weighted segments. */
    public static List<Segment> parse(String text) {
        List<String> texts = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        List<Integer> round = new ArrayList<>();
        List<Integer> square = new ArrayList<>();
        Matcher m = ATTENTION.matcher(text);
        while (m.find()) {
            String token = m.group();
            String weight = m.group(1);
            if (token.startsWith("\\")) {
                texts.add(token.substring(1));
                weights.add(1.0);
            } else if (token.equals("(")) {
                round.add(texts.size());
            } else if (token.equals("[")) {
                square.add(texts.size());
            } else if (weight != null && !round.isEmpty()) {
                multiply(weights, round.remove(round.size() - 1), parseWeight(weight));
            } else if (token.equals(")") && !round.isEmpty()) {
                multiply(weights, round.remove(round.size() - 1), ROUND);
            } else if (token.equals("]") && !square.isEmpty()) {
                multiply(weights, square.remove(square.size() - 1), SQUARE);
            } else {
                String[] parts = BREAK.split(token, -1);
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) {
                        texts.add("BREAK");
                        weights.add(-1.0);
                    }
                    texts.add(parts[i]);
                    weights.add(1.0);
                }
            }
        }
        for (int pos : round) {
            multiply(weights, pos, ROUND);
        }
        for (int pos : square) {
            multiply(weights, pos, SQUARE);
        }
        if (texts.isEmpty()) {
            texts.add("");
            weights.add(1.0);
        }
        List<Segment> out = new ArrayList<>();
        StringBuilder run = new StringBuilder(texts.get(0));
        double w = weights.get(0);
        for (int i = 1; i < texts.size(); i++) {
            if (weights.get(i) == w) {
                run.append(texts.get(i));
            } else {
                out.add(new Segment(run.toString(), w));
                run = new StringBuilder(texts.get(i));
                w = weights.get(i);
            }
        }
        out.add(new Segment(run.toString(), w));
        return out;
    }

    private static double parseWeight(String w) {
        try {
            return Double.parseDouble(w);
        } catch (NumberFormatException e) {
            return 1.0; // "1.2.3": Python's float() would raise; A1111 would fail the whole prompt
        }
    }

    private static void multiply(List<Double> weights, int from, double factor) {
        for (int i = from; i < weights.size(); i++) {
            weights.set(i, weights.get(i) * factor);
        }
    }
}
