package dev.saeforge.report;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The report page in headless Chromium, as a researcher opens it: a two-SAE report shaped like a
 * real run's, with tokens that break careless pages. Fails when Chromium is missing.
 */
class ReportPageBrowserTest {
    private static final Report REPORT = SampleReports.twoSaes(30, 10, 17);
    private static Chromium chromium;
    @TempDir
    static Path dir;
    private static Path page;

    @BeforeAll
    static void openBrowser() throws IOException, InterruptedException {
        page = Files.writeString(dir.resolve("index.html"), ReportPage.render(REPORT), StandardCharsets.UTF_8);
        chromium = Chromium.launch();
    }

    @AfterAll
    static void closeBrowser() {
        if (chromium != null) {
            chromium.close();
        }
    }

    @Test
    void showsCurvesHistogramsAndCardsAndFindsALatentByIndexWithNoErrorsAndNoRequests() throws IOException, InterruptedException {
        int latent = REPORT.saes().get(0).latents().get(7).index();

        ReportPageChecks.assertShows(chromium, page, 25, latent, "sample-report");

        assertThat(Chromium.SCREENSHOTS.resolve("sample-report.png")).isNotEmptyFile();
    }

    @Test
    void searchingTokenTextShowsTheCardsWhoseContextsOrLogitsHoldIt() throws InterruptedException {
        chromium.open(page);

        ReportPageChecks.assertTextSearchShowsTheCardsContainingIt(chromium, "<script>");
        assertThat(visibleCards()).containsExactlyElementsOf(cardsHolding("<script>"));
        ReportPageChecks.assertTextSearchShowsTheCardsContainingIt(chromium, " logit3up");
        assertThat(visibleCards()).as("a top logit's token finds its card").containsExactly("latent-blocks.0.hook_resid_post-116",
                "latent-blocks.1.hook_mlp_out-116");
        chromium.type("#search", "99999");
        assertThat(visibleCards()).isEmpty();
        assertThat(chromium.evaluate("document.getElementById('search-count').textContent").asText()).isEqualTo("latent 99999 has no card in this report");

        ReportPageChecks.assertNothingFailedOrWasFetched(chromium, page);
    }

    @Test
    void tokensShowAsTextWithTheirWhitespaceMarkedAndTheirRawTextInTheTooltip() throws InterruptedException {
        chromium.open(page);

        JsonNode peaks = chromium.evaluate("""
                [...document.querySelectorAll('.card')].slice(0, %d).map(c => {
                  const peak = c.querySelector('.context .t.peak');
                  return {text: peak.textContent, raw: peak.title.slice(peak.title.indexOf('\\n') + 1), alpha: getComputedStyle(peak).backgroundColor};
                })""".formatted(SampleReports.NASTY_TOKENS.size()));
        List<String> shown = List.of("<script>alert(1)</script>", "&amp;", "↵", "→", "␣\"quoted\"", "'", "</span>", "<img␣src=x␣onerror=alert(2)>",
                "https://example.com/x.png", "∅", "\\x07", "␣␣", "␍↵");
        for (int i = 0; i < shown.size(); i++) {
            assertThat(peaks.get(i).get("text").asText()).isEqualTo(shown.get(i));
            assertThat(peaks.get(i).get("raw").asText()).isEqualTo(SampleReports.NASTY_TOKENS.get(i));
            assertThat(peaks.get(i).get("alpha").asText()).as("the peak shaded fully").isEqualTo("rgb(255, 140, 0)");
        }
        assertThat(chromium.evaluate("document.scripts.length").asInt()).as("the page's own script, no token's").isEqualTo(1);
        assertThat(chromium.evaluate("document.images.length").asInt()).as("no token became an image").isZero();
        assertThat(ReportPageChecks.texts(chromium.evaluate("[...document.querySelectorAll('[href]')].map(e => e.getAttribute('href'))")))
                .as("links only inside the page").isNotEmpty().allMatch(href -> href.startsWith("#"));
        assertThat(chromium.evaluate("getComputedStyle(document.querySelector('.warning')).display").asText()).as("the wrapped warning").isNotEqualTo("none");
        ReportPageChecks.assertNothingFailedOrWasFetched(chromium, page);
    }

    private static List<String> visibleCards() throws InterruptedException {
        return ReportPageChecks.texts(chromium.evaluate("[...document.querySelectorAll('.card')].filter(c => !c.hidden).map(c => c.id)"));
    }

    private static List<String> cardsHolding(String text) {
        return REPORT.saes().stream().flatMap(sae -> sae.latents().stream()
                .filter(l -> l.topContexts().stream().anyMatch(c -> String.join("", c.tokens()).contains(text))
                        || l.topLogits().positive().stream().anyMatch(e -> e.get(0).toString().contains(text))
                        || l.topLogits().negative().stream().anyMatch(e -> e.get(0).toString().contains(text)))
                .map(l -> "latent-" + sae.name() + "-" + l.index())).toList();
    }
}
