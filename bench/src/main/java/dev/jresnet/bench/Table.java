package dev.jresnet.bench;

import java.util.ArrayList;
import java.util.List;

/** A small table, printed either aligned for a terminal or as Markdown; columns after the first few are numbers. */
final class Table {
    private final List<String> header;
    /** Columns from this index on are right-aligned (numbers). */
    private final int firstNumeric;
    private final List<List<String>> rows = new ArrayList<>();

    Table(int firstNumeric, String... header) {
        this.header = List.of(header);
        this.firstNumeric = firstNumeric;
    }

    Table row(String... cells) {
        if (cells.length != header.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, header " + header.size());
        }
        rows.add(List.of(cells));
        return this;
    }

    int rowCount() {
        return rows.size();
    }

    String text() {
        int[] width = widths();
        StringBuilder sb = new StringBuilder();
        line(sb, header, width, "  ");
        for (List<String> r : rows) {
            line(sb, r, width, "  ");
        }
        return sb.toString();
    }

    String markdown() {
        StringBuilder sb = new StringBuilder("| ").append(String.join(" | ", header)).append(" |\n|");
        for (int i = 0; i < header.size(); i++) {
            sb.append(i >= firstNumeric ? " ---: |" : " --- |");
        }
        sb.append('\n');
        for (List<String> r : rows) {
            sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        return sb.toString();
    }

    private int[] widths() {
        int[] w = new int[header.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = header.get(i).length();
            for (List<String> r : rows) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        return w;
    }

    private void line(StringBuilder sb, List<String> cells, int[] width, String gap) {
        StringBuilder l = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                l.append(gap);
            }
            String c = cells.get(i);
            String pad = " ".repeat(width[i] - c.length());
            l.append(i >= firstNumeric ? pad + c : c + pad);
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }
}
