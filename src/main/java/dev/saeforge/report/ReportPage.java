package dev.saeforge.report;

/** index.html of a report: one self-contained static page (scripts, styles and SVG charts inline; nothing loaded from elsewhere). */
public final class ReportPage {
    private ReportPage() {
    }

    /** The page showing {@code report}. */
    public static String render(Report report) {
        // Placeholder until the page lands (issue 18, the page helper replaces this body).
        return "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + report.run() + "</title></head><body></body></html>\n";
    }
}
