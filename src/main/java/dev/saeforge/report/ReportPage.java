package dev.saeforge.report;

import dev.saeforge.report.Report.Context;
import dev.saeforge.report.Report.Curves;
import dev.saeforge.report.Report.EvaluationPoint;
import dev.saeforge.report.Report.Latent;
import dev.saeforge.report.Report.SaeSection;
import dev.saeforge.report.Report.TopLogits;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * index.html of a report: one self-contained static page. Styles and the search script are inline,
 * charts are inline SVG drawn here, and the page references nothing by URL, so it opens from a
 * file, an archive or a bucket with no network. A Content-Security-Policy forbids every fetch, so
 * a later change that adds one shows up as an error rather than a silent request.
 * <p>
 * All report text (names, tokens) reaches the page only as escaped HTML text or attribute values,
 * never inside the script, so no token can end a tag or run code.
 */
public final class ReportPage {
    private static final String POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

    private ReportPage() {
    }

    /** The page showing {@code report}. */
    public static String render(Report report) {
        StringBuilder html = new StringBuilder(1 << 16);
        html.append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"").append(POLICY).append("\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>").append(escape("SAE report · " + report.run())).append("</title>\n")
                .append("<style>").append(STYLE).append("</style>\n</head>\n<body>\n");
        header(html, report);
        html.append("<main>\n");
        for (SaeSection sae : orEmpty(report.saes())) {
            section(html, sae);
        }
        html.append("</main>\n<script>").append(SCRIPT).append("</script>\n</body>\n</html>\n");
        return html.toString();
    }

    private static void header(StringBuilder html, Report report) {
        html.append("<header class=\"top\">\n<h1>SAE report <code>").append(escape(report.run())).append("</code></h1>\n<dl class=\"facts\">\n");
        fact(html, "Run", escape(report.run()));
        fact(html, "Checkpoint", "<code>" + escape(report.checkpoint()) + "</code>");
        fact(html, "Address", "<code>" + escape(report.uri()) + "</code>");
        fact(html, "Tokens trained", count(report.tokensTrained()));
        Report.HeldOut heldOut = report.heldOut();
        if (heldOut != null) {
            fact(html, "Held-out tokens", count(heldOut.tokens()) + " from <code>" + escape(heldOut.source()) + "</code>");
        }
        html.append("</dl>\n");
        if (heldOut != null && heldOut.wrapped()) {
            html.append("<p class=\"warning\" role=\"alert\">The held-out data ran out before ").append(count(heldOut.tokens()))
                    .append(" tokens and was read again from its start: contexts may repeat, and frequencies count some tokens twice.</p>\n");
        }
        List<SaeSection> saes = orEmpty(report.saes());
        if (saes.size() > 1) {
            html.append("<nav class=\"toc\">SAEs:");
            for (SaeSection sae : saes) {
                html.append(" <a href=\"#sae-").append(escape(slug(sae.name()))).append("\">").append(escape(sae.name())).append("</a>");
            }
            html.append("</nav>\n");
        }
        html.append("<div class=\"search\"><label for=\"search\">Search latents</label> ")
                .append("<input id=\"search\" type=\"search\" placeholder=\"latent index (e.g. 1234) or token text\" autocomplete=\"off\" spellcheck=\"false\"> ")
                .append("<span id=\"search-count\" aria-live=\"polite\"></span></div>\n</header>\n");
    }

    private static void fact(StringBuilder html, String name, String valueHtml) {
        html.append("<div><dt>").append(name).append("</dt><dd>").append(valueHtml).append("</dd></div>\n");
    }

    private static void section(StringBuilder html, SaeSection sae) {
        html.append("<section class=\"sae\" id=\"sae-").append(escape(slug(sae.name()))).append("\" data-sae=\"").append(escape(sae.name())).append("\">\n")
                .append("<h2>SAE <code>").append(escape(sae.name())).append("</code></h2>\n<p class=\"meta\">hook <code>").append(escape(sae.hook()))
                .append("</code> · architecture <code>").append(escape(sae.architecture())).append("</code> · d_in ").append(sae.dIn())
                .append(" · d_sae ").append(sae.dSae()).append("</p>\n");
        curves(html, sae.curves(), orEmpty(sae.evaluations()));
        density(html, sae);
        List<Latent> latents = orEmpty(sae.latents());
        html.append("<h3>Latents <span class=\"muted\">(").append(latents.size()).append(latents.size() == 1 ? " card" : " cards")
                .append(")</span></h3>\n<div class=\"cards\">\n");
        for (Latent latent : latents) {
            card(html, sae.name(), latent);
        }
        html.append("</div>\n</section>\n");
    }

    /**
     * Small multiples, one chart per logged series, with the evaluations' token counts as rules
     * and an evaluated metric of the same name as markers; evaluated metrics that have no training
     * series get a chart of their own, and every evaluation is listed in a table.
     */
    private static void curves(StringBuilder html, Curves curves, List<EvaluationPoint> evaluations) {
        html.append("<h3>Training curves</h3>\n");
        boolean logged = curves != null && curves.tokens() != null && !curves.tokens().isEmpty() && curves.series() != null
                && !curves.series().isEmpty();
        if (!logged) {
            html.append("<p class=\"empty\">This checkpoint has no logged training metrics, so there are no curves to draw.</p>\n");
        }
        List<Svg.Rule> rules = evaluations.stream().map(e -> new Svg.Rule(e.tokens(), "evaluation at " + Svg.format(e.tokens()) + " tokens")).toList();
        Set<String> evaluated = evaluatedMetrics(evaluations);
        if (!logged && evaluated.isEmpty()) {
            return;
        }
        html.append("<div class=\"curves\">\n");
        Set<String> drawn = new HashSet<>();
        if (logged) {
            for (Map.Entry<String, List<Double>> series : curves.series().entrySet()) {
                curve(html, series.getKey(), curves.tokens(), orEmpty(series.getValue()), markers(series.getKey(), evaluations), rules);
                drawn.add(series.getKey());
            }
        }
        for (String metric : evaluated) {
            if (!drawn.contains(metric)) {
                curve(html, metric + " (evaluations)", logged ? curves.tokens() : List.of(), List.of(), markers(metric, evaluations), rules);
            }
        }
        html.append("</div>\n");
        evaluationTable(html, evaluations, evaluated);
    }

    private static void curve(StringBuilder html, String name, List<Long> tokens, List<Double> values, List<Svg.Marker> markers, List<Svg.Rule> rules) {
        html.append("<figure class=\"curve\" data-series=\"").append(escape(name)).append("\"><figcaption>").append(escape(name))
                .append("</figcaption>").append(Svg.lineChart(name + " over training tokens", tokens, values, markers, rules)).append("</figure>\n");
    }

    private static Set<String> evaluatedMetrics(List<EvaluationPoint> evaluations) {
        Set<String> metrics = new LinkedHashSet<>();
        evaluations.forEach(e -> metrics.addAll(e.metrics() == null ? Set.of() : e.metrics().keySet()));
        return metrics;
    }

    private static List<Svg.Marker> markers(String metric, List<EvaluationPoint> evaluations) {
        List<Svg.Marker> markers = new ArrayList<>();
        for (EvaluationPoint evaluation : evaluations) {
            Double value = evaluation.metrics() == null ? null : evaluation.metrics().get(metric);
            if (value != null && Double.isFinite(value)) {
                markers.add(new Svg.Marker(evaluation.tokens(), value,
                        "evaluation at " + Svg.format(evaluation.tokens()) + " tokens: " + metric + " " + Svg.format(value)));
            }
        }
        return markers;
    }

    private static void evaluationTable(StringBuilder html, List<EvaluationPoint> evaluations, Set<String> metrics) {
        if (evaluations.isEmpty()) {
            return;
        }
        html.append("<table class=\"evaluations\"><caption>Evaluations (markers on the curves)</caption>\n<tr><th>tokens</th>");
        metrics.forEach(m -> html.append("<th>").append(escape(m)).append("</th>"));
        html.append("</tr>\n");
        for (EvaluationPoint evaluation : evaluations) {
            html.append("<tr><td>").append(count(evaluation.tokens())).append("</td>");
            for (String metric : metrics) {
                Double value = evaluation.metrics() == null ? null : evaluation.metrics().get(metric);
                html.append("<td>").append(value == null ? "–" : Svg.format(value)).append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</table>\n");
    }

    private static void density(StringBuilder html, SaeSection sae) {
        html.append("<h3>Feature density</h3>\n<div class=\"density\">");
        if (Svg.drawable(sae.densityHistogram())) {
            // The dense threshold as a rule, so the bars right of it are the dense latents counted beside the chart.
            List<Svg.Rule> rules = List.of(new Svg.Rule(Math.log10(Report.DENSE_FREQUENCY), "dense: firing on more than "
                    + percent(Report.DENSE_FREQUENCY) + " of tokens"));
            html.append("<figure class=\"histogram\">").append(Svg.histogram("latents by log10 firing frequency", "log10 firing frequency",
                    sae.densityHistogram(), rules)).append("</figure>");
        } else {
            html.append("<p class=\"empty\">No density histogram: no latent fired on the held-out tokens.</p>");
        }
        html.append("<dl class=\"counts\"><div><dt>dead</dt><dd>").append(sae.deadLatents()).append(share(sae.deadLatents(), sae.dSae()))
                .append("<br><span class=\"muted\">never fired</span></dd></div><div><dt>dense</dt><dd>").append(sae.denseLatents())
                .append(share(sae.denseLatents(), sae.dSae())).append("<br><span class=\"muted\">fired on more than ")
                .append(percent(Report.DENSE_FREQUENCY)).append(" of tokens</span></dd></div></dl></div>\n");
    }

    private static String share(int latents, int dSae) {
        return dSae > 0 ? " <span class=\"muted\">(" + percent((double) latents / dSae) + " of " + dSae + ")</span>" : "";
    }

    /**
     * One latent's card. Its data attributes carry what the search matches: the index, and the
     * raw text of its contexts and top logits, one per line.
     */
    private static void card(StringBuilder html, String sae, Latent latent) {
        String id = "latent-" + slug(sae) + "-" + latent.index();
        html.append("<article class=\"card\" id=\"").append(escape(id)).append("\" data-sae=\"").append(escape(sae)).append("\" data-index=\"")
                .append(latent.index()).append("\" data-chosen-as=\"").append(escape(latent.chosenAs())).append("\" data-text=\"")
                .append(escape(searchText(latent))).append("\">\n<h4><a href=\"#").append(escape(id)).append("\">Latent ").append(latent.index())
                .append("</a>");
        if (latent.chosenAs() != null) {
            html.append(" <span class=\"tag\">").append(escape(latent.chosenAs())).append("</span>");
        }
        html.append("</h4>\n<p class=\"stats\">fires on ").append(percent(latent.frequency())).append(" of tokens · max activation ")
                .append(Svg.format(latent.maxActivation())).append("</p>\n");
        contexts(html, latent);
        if (Svg.drawable(latent.activationHistogram())) {
            html.append("<figure class=\"activations\"><figcaption>activations when firing</figcaption>")
                    .append(Svg.smallHistogram("latent " + latent.index() + " activations", latent.activationHistogram())).append("</figure>\n");
        }
        logits(html, latent.topLogits());
        html.append("</article>\n");
    }

    /** Each context's tokens shaded by activation relative to the latent's maximum; the tooltip is the activation, a line break, the raw token. */
    private static void contexts(StringBuilder html, Latent latent) {
        List<Context> contexts = orEmpty(latent.topContexts());
        if (contexts.isEmpty()) {
            html.append("<p class=\"empty\">No contexts: the latent did not fire on the held-out tokens.</p>\n");
            return;
        }
        double max = shadingMax(latent);
        html.append("<div class=\"contexts\">\n");
        for (Context context : contexts) {
            html.append("<p class=\"context\">");
            List<String> tokens = orEmpty(context.tokens());
            List<Double> activations = orEmpty(context.activations());
            for (int i = 0; i < tokens.size(); i++) {
                double activation = i < activations.size() && activations.get(i) != null ? activations.get(i) : Double.NaN;
                double alpha = Double.isFinite(activation) ? Math.clamp(activation / max, 0, 1) : 0;
                html.append("<span class=\"t").append(i == context.peak() ? " peak" : "").append('"');
                if (alpha > 0) {
                    html.append(" style=\"--a:").append(String.format(Locale.ROOT, "%.2f", alpha)).append('"');
                }
                html.append(" title=\"").append(escape(Svg.format(activation) + "\n" + tokens.get(i))).append("\">")
                        .append(visible(tokens.get(i))).append("</span>");
            }
            html.append("</p>\n");
        }
        html.append("</div>\n");
    }

    /** The activation shaded fully: the latent's maximum, or its contexts' when the report lacks one. */
    private static double shadingMax(Latent latent) {
        if (Double.isFinite(latent.maxActivation()) && latent.maxActivation() > 0) {
            return latent.maxActivation();
        }
        return orEmpty(latent.topContexts()).stream().flatMap(c -> orEmpty(c.activations()).stream())
                .filter(a -> a != null && Double.isFinite(a) && a > 0).mapToDouble(Double::doubleValue).max().orElse(1);
    }

    private static void logits(StringBuilder html, TopLogits logits) {
        if (logits == null) {
            return;
        }
        html.append("<div class=\"logits\">");
        logitList(html, "raises", "positive", orEmpty(logits.positive()));
        logitList(html, "lowers", "negative", orEmpty(logits.negative()));
        html.append("</div>\n");
    }

    private static void logitList(StringBuilder html, String verb, String kind, List<List<Object>> entries) {
        html.append("<div class=\"").append(kind).append("\"><h5>").append(verb).append(" the logits of</h5><ol>");
        for (List<Object> entry : entries) {
            String token = entry.isEmpty() ? "" : String.valueOf(entry.get(0));
            Object value = entry.size() > 1 ? entry.get(1) : null;
            String shown = value instanceof Number number ? String.format(Locale.ROOT, "%+.3f", number.doubleValue()) : escape(String.valueOf(value));
            html.append("<li><span class=\"t\" title=\"").append(escape(token)).append("\">").append(visible(token))
                    .append("</span> <span class=\"v\">").append(shown).append("</span></li>");
        }
        html.append("</ol></div>");
    }

    /** What the search matches on a card: its contexts' text and its top logits' tokens, one per line. */
    private static String searchText(Latent latent) {
        StringBuilder text = new StringBuilder();
        orEmpty(latent.topContexts()).forEach(c -> text.append(String.join("", orEmpty(c.tokens()))).append('\n'));
        if (latent.topLogits() != null) {
            for (List<List<Object>> entries : List.of(orEmpty(latent.topLogits().positive()), orEmpty(latent.topLogits().negative()))) {
                entries.stream().filter(e -> !e.isEmpty()).forEach(e -> text.append(e.get(0)).append('\n'));
            }
        }
        return text.toString();
    }

    /**
     * A token as HTML whose whitespace and control characters show: a space as ␣, a newline as ↵,
     * a tab as →, in a faint &lt;i&gt;; the empty token as ∅. Tokens are mostly whitespace-led, and
     * without the marks " the" and "the" look the same.
     */
    static String visible(String token) {
        if (token.isEmpty()) {
            return "<i>∅</i>";
        }
        StringBuilder out = new StringBuilder(token.length() + 8);
        token.codePoints().forEach(c -> {
            String mark = switch (c) {
                case ' ' -> "␣";
                case '\n' -> "↵";
                case '\t' -> "→";
                case '\r' -> "␍";
                default -> c < 0x20 || c == 0x7f ? String.format(Locale.ROOT, "\\x%02x", c) : null;
            };
            if (mark != null) {
                out.append("<i>").append(mark).append("</i>");
            } else {
                out.append(escape(Character.toString(c)));
            }
        });
        return out.toString();
    }

    /**
     * Text safe in HTML text and in quoted attribute values. Line breaks become character
     * references so attributes keep them exactly (a raw CR would be normalised away); NUL, which
     * HTML cannot carry, becomes U+FFFD.
     */
    static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                case '\n' -> out.append("&#10;");
                case '\r' -> out.append("&#13;");
                case '\0' -> out.append('\uFFFD');
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** An id-safe form of an SAE's name for element ids and fragment links. */
    private static String slug(String name) {
        return name == null ? "" : name.replaceAll("[^A-Za-z0-9_.-]", "-");
    }

    private static String count(long tokens) {
        return "<span title=\"" + tokens + "\">" + Svg.format(tokens) + "</span>";
    }

    private static String percent(double fraction) {
        return Svg.format(fraction * 100) + "%";
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    private static final String STYLE = """
            :root{--ink:#1f2328;--muted:#6e7781;--line:#d0d7de;--accent:#0969da;--shade:255,140,0}
            *{box-sizing:border-box}
            body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:#f6f8fa}
            code{font:12px ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace}
            header.top{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);padding:10px 24px}
            h1{font-size:20px;margin:0 0 6px}
            .facts{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0}
            .facts div{display:flex;gap:6px}.facts dt{color:var(--muted)}.facts dd{margin:0}
            .warning{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px;margin:8px 0 0}
            .toc{margin-top:6px}.toc a{color:var(--accent);margin-right:8px}
            .search{margin-top:8px;display:flex;align-items:center;gap:8px}
            .search input{width:min(420px,60vw);padding:5px 8px;border:1px solid var(--line);border-radius:6px;font:inherit}
            #search-count{color:var(--muted)}
            main{padding:8px 24px 48px}
            section.sae{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 20px 16px;margin:16px 0}
            h2{font-size:18px;margin:8px 0 0}h3{font-size:15px;margin:18px 0 6px}
            .meta,.muted,.empty{color:var(--muted)}.meta{margin:2px 0}
            .curves{display:flex;flex-wrap:wrap;gap:8px}
            figure{margin:0}
            .curve figcaption{font:12px ui-monospace,Menlo,Consolas,monospace;padding-left:52px}
            svg.chart{display:block;overflow:visible}
            .chart text{font-size:10px;fill:var(--muted)}
            .axis line{stroke:#8c959f;stroke-width:1}.axis line.grid{stroke:#eaeef2}
            .line{fill:none;stroke:var(--accent);stroke-width:1.5}.dot{fill:var(--accent)}
            .marker{fill:#cf222e;stroke:#fff;stroke-width:1}
            .rule{stroke:#cf222e;stroke-width:1;stroke-dasharray:3 3;opacity:.6}
            .bars rect{fill:var(--accent)}
            table.evaluations{border-collapse:collapse;margin:10px 0;font-size:12px}
            table.evaluations caption{text-align:left;color:var(--muted);padding-bottom:2px}
            table.evaluations th,table.evaluations td{border:1px solid var(--line);padding:2px 8px;text-align:right}
            .density{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
            .counts{margin:0;display:flex;flex-direction:column;gap:8px}.counts dt{font-weight:600}.counts dd{margin:0}
            .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
            .card{border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:#fff}
            .card h4{margin:0;font-size:15px}.card h4 a{color:inherit;text-decoration:none}
            .tag{font-size:11px;font-weight:400;color:var(--muted);border:1px solid var(--line);border-radius:10px;padding:0 6px}
            .stats{margin:2px 0 6px;color:var(--muted);font-size:12px}
            .context{margin:0 0 4px;font:12px/1.7 ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
            .t{background:rgba(var(--shade),var(--a,0));border-radius:2px;white-space:pre}
            .t.peak{outline:1px solid rgb(var(--shade))}
            .t i{font-style:normal;opacity:.35}
            .activations figcaption,.logits h5{font-size:11px;color:var(--muted);margin:6px 0 2px;font-weight:400}
            .logits{display:grid;grid-template-columns:1fr 1fr;gap:12px}
            .logits ol{margin:0;padding-left:22px;font:12px ui-monospace,Menlo,Consolas,monospace}
            .logits .v{color:var(--muted)}.positive .v{color:#1a7f37}.negative .v{color:#cf222e}
            [hidden]{display:none!important}
            """;

    /**
     * The search: a whole number shows the cards of that latent index (scrolled into view); any
     * other text shows the cards whose contexts or top logits contain it, ignoring case.
     */
    private static final String SCRIPT = """
            (function () {
              'use strict';
              var input = document.getElementById('search');
              var count = document.getElementById('search-count');
              var cards = Array.prototype.slice.call(document.querySelectorAll('.card'));
              var texts = cards.map(function (card) { return (card.getAttribute('data-text') || '').toLowerCase(); });
              function apply() {
                var query = input.value;
                var index = /^\\s*\\d+\\s*$/.test(query) ? String(Number(query.trim())) : null;
                var needle = query.toLowerCase();
                var first = null;
                var shown = 0;
                cards.forEach(function (card, i) {
                  var match = query === '' || (index !== null ? card.getAttribute('data-index') === index : texts[i].indexOf(needle) >= 0);
                  card.hidden = !match;
                  if (match) { shown++; if (first === null) { first = card; } }
                });
                if (query === '') {
                  count.textContent = cards.length + (cards.length === 1 ? ' latent card' : ' latent cards');
                } else if (shown === 0) {
                  count.textContent = index !== null ? 'latent ' + index + ' has no card in this report' : 'no card contains this text';
                } else {
                  count.textContent = shown + ' of ' + cards.length + ' cards match';
                }
                if (index !== null && first !== null) { first.scrollIntoView({block: 'center'}); }
              }
              input.addEventListener('input', apply);
              apply();
            })();
            """;
}
