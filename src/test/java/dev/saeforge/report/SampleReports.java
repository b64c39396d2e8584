package dev.saeforge.report;

import dev.saeforge.report.Report.Context;
import dev.saeforge.report.Report.Curves;
import dev.saeforge.report.Report.EvaluationPoint;
import dev.saeforge.report.Report.Histogram;
import dev.saeforge.report.Report.Latent;
import dev.saeforge.report.Report.SaeSection;
import dev.saeforge.report.Report.TopLogits;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Reports shaped like a real run's, made up deterministically: two SAEs (a TopK and a JumpReLU),
 * curves with hundreds of logged points, evaluations, density histograms and latent cards whose
 * contexts hold the tokens a page most easily gets wrong.
 */
final class SampleReports {
    /** Tokens that break a page that does not escape or that hides whitespace. */
    static final List<String> NASTY_TOKENS = List.of("<script>alert(1)</script>", "&amp;", "\n", "\t", " \"quoted\"", "'", "</span>",
            "<img src=x onerror=alert(2)>", "https://example.com/x.png", "", "\u0007", "  ", "\r\n");
    static final List<String> WORDS = List.of(" the", " cat", " sat", " on", " mat", ".", " Paris", " is", " in", " France", ",", " and",
            " 1234", " def", "(", ")", ":", " return", " x", " +", " 1", " café", " 東京", " über");
    static final int LOGGED_POINTS = 300;

    private SampleReports() {
    }

    /** Two SAE sections with {@code latents} cards each, every card {@code contexts} contexts of {@code tokens} tokens. */
    static Report twoSaes(int latents, int contexts, int tokens) {
        Random random = new Random(18);
        List<SaeSection> saes = List.of(
                section("blocks.0.hook_resid_post", "topk", 64, 512, latents, contexts, tokens, random),
                section("blocks.1.hook_mlp_out", "jumprelu", 64, 256, latents, contexts, tokens, random));
        return new Report(Report.SCHEMA, "tiny-qwen3-sample", "checkpoints/final", "s3://bucket/runs/tiny-qwen3-sample/checkpoints/final",
                12_288_000L, new Report.HeldOut(250_000, "tiny://corpus (after the training range)", true), saes);
    }

    private static SaeSection section(String name, String architecture, int dIn, int dSae, int latents, int contexts, int tokens, Random random) {
        return new SaeSection(name, name.split("\\.")[2], architecture, dIn, dSae, curves(random), evaluations(), densityHistogram(random),
                37, 3, cards(dSae, latents, contexts, tokens, random));
    }

    private static Curves curves(Random random) {
        List<Long> tokens = new ArrayList<>();
        Map<String, List<Double>> series = new LinkedHashMap<>();
        for (String metric : List.of("overall_loss", "mse_loss", "auxiliary_reconstruction_loss", "l0", "explained_variance", "dead_features",
                "learning_rate")) {
            series.put(metric, new ArrayList<>());
        }
        for (int i = 0; i < LOGGED_POINTS; i++) {
            double progress = (i + 1.0) / LOGGED_POINTS;
            tokens.add((long) (i + 1) * 40_960);
            double noise = 1 + 0.05 * random.nextGaussian();
            series.get("overall_loss").add(Math.exp(-4 * progress) * noise + 0.1);
            series.get("mse_loss").add(Math.exp(-4 * progress) * noise * 0.9 + 0.08);
            series.get("auxiliary_reconstruction_loss").add(i == 150 ? Double.NaN : 0.02 * noise);
            series.get("l0").add(32.0);
            series.get("explained_variance").add(1 - Math.exp(-5 * progress) * noise);
            series.get("dead_features").add((double) Math.max(0, 200 - i));
            series.get("learning_rate").add(progress < 0.9 ? 3e-4 : 3e-4 * (1 - progress) * 10);
        }
        return new Curves(tokens, series);
    }

    private static List<EvaluationPoint> evaluations() {
        List<EvaluationPoint> points = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            Map<String, Double> metrics = new LinkedHashMap<>();   // in a fixed order, as read from JSON
            metrics.put("explained_variance", 0.6 + 0.1 * i);
            metrics.put("ce_loss_score", 0.8 + 0.05 * i);
            metrics.put("kl_div_score", 0.75 + 0.06 * i);
            points.add(new EvaluationPoint(i * 4_096_000L, metrics));
        }
        return points;
    }

    private static Histogram densityHistogram(Random random) {
        List<Double> edges = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        for (int i = 0; i <= 30; i++) {
            edges.add(-6 + i * 0.2);
        }
        for (int i = 0; i < 30; i++) {
            counts.add((long) (40 * Math.exp(-Math.pow((i - 18) / 5.0, 2)) + random.nextInt(3)));
        }
        return new Histogram(edges, counts);
    }

    private static List<Latent> cards(int dSae, int latents, int contexts, int tokens, Random random) {
        List<Latent> cards = new ArrayList<>();
        for (int c = 0; c < latents; c++) {
            int index = (c * 37 + 5) % dSae;
            double max = 2 + random.nextDouble() * 8;
            List<Context> windows = new ArrayList<>();
            for (int w = 0; w < contexts; w++) {
                List<String> words = new ArrayList<>();
                List<Double> activations = new ArrayList<>();
                for (int t = 0; t < tokens; t++) {
                    // Card c's first context holds nasty token c (mod their number) at its peak, so a search for it finds that card.
                    boolean peak = t == tokens / 2;
                    words.add(peak && w == 0 ? NASTY_TOKENS.get(c % NASTY_TOKENS.size()) : WORDS.get(random.nextInt(WORDS.size())));
                    activations.add(peak ? max * (1 - 0.05 * w) : random.nextDouble() < 0.7 ? 0 : random.nextDouble() * max * 0.6);
                }
                windows.add(new Context(words, activations, tokens / 2));
            }
            cards.add(new Latent(index, 0.001 + random.nextDouble() * 0.2, max, c < latents / 2 ? "frequent" : "sample", windows,
                    activationHistogram(max, random), topLogits(c, random)));
        }
        return cards;
    }

    private static Histogram activationHistogram(double max, Random random) {
        List<Double> edges = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        for (int i = 0; i <= 20; i++) {
            edges.add(max * i / 20);
        }
        for (int i = 0; i < 20; i++) {
            counts.add((long) (200 * Math.exp(-i / 4.0)) + random.nextInt(5));
        }
        return new Histogram(edges, counts);
    }

    private static TopLogits topLogits(int card, Random random) {
        List<List<Object>> positive = new ArrayList<>();
        List<List<Object>> negative = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            positive.add(List.of(i == 0 ? " logit" + card + "up" : WORDS.get(random.nextInt(WORDS.size())), 1.5 - i * 0.1));
            negative.add(List.of(WORDS.get(random.nextInt(WORDS.size())), -1.5 + i * 0.1));
        }
        return new TopLogits(positive, negative);
    }
}
