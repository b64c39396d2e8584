package dev.saeforge.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What any report page must do in a browser, whatever run it reports on: show its curves, density
 * histograms and latent cards, find a latent by index and cards by token text, and do it all with
 * no console error, no uncaught exception and no request beyond its own file.
 */
public final class ReportPageChecks {
    /** Whether an element is rendered with a non-zero size (not hidden, not display:none, not collapsed). */
    private static final String SHOWN = "const shown = e => e.checkVisibility() && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0;";

    private ReportPageChecks() {
    }

    /**
     * Opens {@code page} and asserts it shows at least one drawn training curve, its density
     * histograms and at least {@code cards} latent cards with shaded contexts; that searching
     * {@code index} shows (and scrolls to) only that latent's cards, and that searching a token of
     * the page shows exactly the cards that contain it; that nothing failed and nothing was
     * fetched. Saves a screenshot as {@code target/report-screenshots/<screenshot>.png}.
     */
    public static void assertShows(Chromium chromium, Path page, int cards, int index, String screenshot) throws IOException, InterruptedException {
        chromium.open(page);
        JsonNode seen = chromium.evaluate("(() => { " + SHOWN + """
                  const all = selector => [...document.querySelectorAll(selector)];
                  const curves = all('.curve svg');
                  const histograms = all('.density svg');
                  return {
                    sections: all('section.sae').length,
                    curves: curves.length,
                    curvesShown: curves.filter(shown).length,
                    linesDrawn: all('.curve path.line').filter(p => shown(p) && /L/.test(p.getAttribute('d'))).length + all('.curve .dot').filter(shown).length,
                    histograms: histograms.length,
                    histogramsShown: histograms.filter(shown).length,
                    barsShown: all('.density rect').filter(shown).length,
                    cards: all('.card').length,
                    cardsWithContexts: all('.card').filter(c => shown(c) && all('#' + CSS.escape(c.id) + ' .context .t').some(shown)).length,
                    search: shown(document.getElementById('search'))
                  };
                })()""");
        assertThat(seen.get("sections").asInt()).as("SAE sections").isPositive();
        assertThat(seen.get("curves").asInt()).as("curve charts").isPositive();
        assertThat(seen.get("curvesShown").asInt()).as("curve charts shown").isEqualTo(seen.get("curves").asInt());
        assertThat(seen.get("linesDrawn").asInt()).as("curves drawn (as lines, or dots where a series has lone points)").isPositive();
        assertThat(seen.get("histograms").asInt()).as("density histograms").isPositive();
        assertThat(seen.get("histogramsShown").asInt()).as("density histograms shown").isEqualTo(seen.get("histograms").asInt());
        assertThat(seen.get("barsShown").asInt()).as("density bars shown").isPositive();
        assertThat(seen.get("cardsWithContexts").asInt()).as("latent cards shown with contexts").isGreaterThanOrEqualTo(cards);
        assertThat(seen.get("search").asBoolean()).as("search box shown").isTrue();
        chromium.screenshot(screenshot);

        assertIndexSearchShowsThatLatent(chromium, index);
        assertTextSearchShowsTheCardsContainingIt(chromium, peakToken(chromium));
        chromium.type("#search", "");
        assertThat(chromium.evaluate("[...document.querySelectorAll('.card')].filter(c => c.hidden).length").asInt())
                .as("cards hidden once the search is cleared").isZero();

        assertNothingFailedOrWasFetched(chromium, page);
    }

    /** Searching {@code index} shows the cards of that latent (one per SAE that has it), hides all others and scrolls to the first. */
    static void assertIndexSearchShowsThatLatent(Chromium chromium, int index) throws InterruptedException {
        chromium.type("#search", Integer.toString(index));
        JsonNode found = chromium.evaluate("(() => { " + SHOWN + """
                  const cards = [...document.querySelectorAll('.card')];
                  const visible = cards.filter(shown);
                  const first = visible.length ? visible[0].getBoundingClientRect() : null;
                  return {
                    visible: visible.map(c => c.getAttribute('data-index')),
                    hidden: cards.filter(c => c.hidden).length,
                    total: cards.length,
                    inView: first !== null && first.bottom > 0 && first.top < window.innerHeight,
                    count: document.getElementById('search-count').textContent
                  };
                })()""");
        List<String> visible = texts(found.get("visible"));
        assertThat(visible).as("cards shown for latent " + index).isNotEmpty().allMatch(Integer.toString(index)::equals);
        assertThat(found.get("hidden").asInt()).as("cards hidden").isEqualTo(found.get("total").asInt() - visible.size());
        assertThat(found.get("inView").asBoolean()).as("latent " + index + "'s card scrolled into view").isTrue();
        assertThat(found.get("count").asText()).contains(visible.size() + " of " + found.get("total").asInt());
    }

    /** Searching {@code text} shows exactly the cards whose contexts or top logits contain it (ignoring case), at least one. */
    static void assertTextSearchShowsTheCardsContainingIt(Chromium chromium, String text) throws InterruptedException {
        chromium.type("#search", text);
        JsonNode found = chromium.evaluate("(() => { " + SHOWN + """
                  const needle = document.getElementById('search').value.toLowerCase();
                  const cards = [...document.querySelectorAll('.card')];
                  const holds = c => [...c.querySelectorAll('.context'), ...c.querySelectorAll('.logits li .t')]
                      .some(e => (e.classList.contains('context') ? [...e.querySelectorAll('.t')].map(t => t.title.slice(t.title.indexOf('\\n') + 1)).join('')
                                                                   : e.title).toLowerCase().includes(needle));
                  return {
                    shown: cards.filter(shown).length,
                    wrong: cards.filter(c => shown(c) !== holds(c)).map(c => c.id)
                  };
                })()""");
        assertThat(found.get("shown").asInt()).as("cards shown for " + text).isPositive();
        assertThat(texts(found.get("wrong"))).as("cards shown without holding " + text + ", or hidden though they hold it").isEmpty();
    }

    /**
     * The raw text of a peak token of the page (else any token) that a search box can hold: not
     * blank, and without line breaks, which inputs drop.
     */
    private static String peakToken(Chromium chromium) throws InterruptedException {
        return chromium.evaluate("""
                [...document.querySelectorAll('.card .context .t.peak'), ...document.querySelectorAll('.card .context .t')]
                    .map(t => t.title.slice(t.title.indexOf('\\n') + 1)).find(text => /\\S/.test(text) && !/[\\r\\n]/.test(text))""").asText();
    }

    /** No console error, no uncaught exception, and no request but the page's own. */
    static void assertNothingFailedOrWasFetched(Chromium chromium, Path page) {
        assertThat(chromium.consoleErrors()).as("console errors").isEmpty();
        assertThat(chromium.exceptions()).as("uncaught exceptions").isEmpty();
        assertThat(chromium.requests()).as("requests").containsOnly(Chromium.url(page));
    }

    /** The strings of a JSON array the page returned. */
    static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(node -> texts.add(node.asText()));
        return texts;
    }
}
