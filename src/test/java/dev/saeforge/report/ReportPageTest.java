package dev.saeforge.report;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** index.html as text: self-contained, escaped, and small enough to mail around. The browser test checks what it shows. */
class ReportPageTest {
    private static final Pattern URL_ATTRIBUTE = Pattern.compile("\\s(href|src|srcset|action|formaction|poster|background|xlink:href)\\s*=\\s*\"([^\"]*)\"",
            Pattern.CASE_INSENSITIVE);

    @Test
    void thePageReferencesNothingOutsideItself() {
        String page = ReportPage.render(SampleReports.twoSaes(30, 5, 17));

        Matcher attributes = URL_ATTRIBUTE.matcher(page);
        int links = 0;
        while (attributes.find()) {
            assertThat(attributes.group(1)).as("only links inside the page").isEqualToIgnoringCase("href");
            assertThat(attributes.group(2)).as("a link inside the page").startsWith("#");
            links++;
        }
        assertThat(links).as("card and section links").isGreaterThanOrEqualTo(60);
        assertThat(page).doesNotContainPattern("(?i)<(link|img|iframe|object|embed|base|audio|video|source)[\\s>]")
                .doesNotContainPattern("(?i)<svg[^>]*xmlns")
                .contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';");
        String inline = between(page, "<style>", "</style>") + between(page, "<script>", "</script>");
        assertThat(inline).doesNotContainPattern("(?i)url\\(|@import|https?:|//[a-z]|fetch\\(|XMLHttpRequest|WebSocket|import\\(");
    }

    @Test
    void tokensAreEscapedAndTheirWhitespaceShows() {
        String page = ReportPage.render(SampleReports.twoSaes(30, 5, 17));

        assertThat(page.split("<script", -1)).as("the page's own script is its only one").hasSize(2);
        assertThat(page).contains("&lt;script&gt;alert(1)&lt;/script&gt;", "&amp;amp;", "&lt;img src=x onerror=alert(2)&gt;", "&lt;/span&gt;")
                .doesNotContain("<img")
                .contains("<i>␣</i>&quot;quoted&quot;", "<i>↵</i>", "<i>→</i>", "<i>␣</i><i>␣</i>", "<i>␍</i><i>↵</i>", "<i>∅</i>", "\\x07")
                // the tooltip keeps the raw token, line breaks included
                .contains("&#10;&lt;script&gt;alert(1)&lt;/script&gt;\"", "&#10;&#10;\"", "&#10;&#13;&#10;\"");
    }

    @Test
    void visibleMarksWhitespaceAndEscapesTheRest() {
        assertThat(ReportPage.visible(" the\n")).isEqualTo("<i>␣</i>the<i>↵</i>");
        assertThat(ReportPage.visible("\ta<b>")).isEqualTo("<i>→</i>a&lt;b&gt;");
        assertThat(ReportPage.visible("")).isEqualTo("<i>∅</i>");
        assertThat(ReportPage.escape("a\"b'c&\0")).isEqualTo("a&quot;b&#39;c&amp;\uFFFD");
    }

    @Test
    void aHundredCardsOfTenContextsOfSeventeenTokensStayUnderTwoMegabytes() {
        String page = ReportPage.render(SampleReports.twoSaes(50, 10, 17));

        assertThat(page.split("class=\"card\"", -1)).hasSize(101);
        assertThat(page.getBytes(StandardCharsets.UTF_8).length).isLessThan(2 << 20);
    }

    @Test
    void aCheckpointWithoutLoggedMetricsSaysSoAndAWrappedHeldOutSetIsWarnedAbout() {
        Report sample = SampleReports.twoSaes(2, 1, 5);
        Report.SaeSection first = sample.saes().get(0);
        Report.SaeSection bare = new Report.SaeSection(first.name(), first.hook(), first.architecture(), first.dIn(), first.dSae(),
                new Report.Curves(List.of(), Map.of()), null, null, 0, 0, null);
        Report report = new Report(sample.schema(), sample.run(), sample.checkpoint(), sample.uri(), sample.tokensTrained(), sample.heldOut(),
                List.of(bare));

        String page = ReportPage.render(report);

        assertThat(page).contains("This checkpoint has no logged training metrics", "No density histogram", "(0 cards)")
                .contains("class=\"warning\" role=\"alert\">The held-out data ran out")
                .doesNotContain("<figure class=\"curve\"");
    }

    @Test
    void everySeriesGetsAChartAndEvaluationsAreMarkedAndListed() {
        String page = ReportPage.render(SampleReports.twoSaes(2, 1, 5));

        for (String series : List.of("overall_loss", "mse_loss", "l0", "explained_variance", "dead_features", "learning_rate",
                "ce_loss_score (evaluations)", "kl_div_score (evaluations)")) {
            assertThat(page).contains("<figure class=\"curve\" data-series=\"" + series + "\">");
        }
        // per SAE: explained_variance, ce_loss_score and kl_div_score at 3 evaluations each
        assertThat(page.split("<circle class=\"marker\"", -1)).hasSize(2 * 9 + 1);
        assertThat(page).contains("<caption>Evaluations (markers on the curves)</caption>", "<th>ce_loss_score</th>", "<td>0.85</td>");
        assertThat(ReportPage.render(SampleReports.twoSaes(2, 1, 5))).as("the same report, the same bytes").isEqualTo(page);
    }

    private static String between(String text, String open, String close) {
        int start = text.indexOf(open);
        return text.substring(start + open.length(), text.indexOf(close, start));
    }
}
