package cn.huolala.lala.pay.cashier.desk.sdk.api;

import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskProtocolException;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkStatement;
import java.util.ArrayList;
import java.util.List;

/** Parses a daily statement: the header, one row per payment or refund, then the totals header and row. */
final class StatementParser {
    private StatementParser() {
    }

    static SdkStatement parse(String csv) {
        List<String> lines = new ArrayList<String>();
        for (String l : csv.split("\r?\n")) {
            if (!l.isEmpty()) {
                lines.add(l);
            }
        }
        int totalsAt = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("totalPaymentCount,")) {
                totalsAt = i;
                break;
            }
        }
        if (lines.isEmpty() || !lines.get(0).startsWith("type,") || totalsAt < 1 || totalsAt != lines.size() - 2) {
            throw new CashierDeskProtocolException("statement is not in the expected layout", 200);
        }
        try {
            List<SdkStatement.Row> rows = new ArrayList<SdkStatement.Row>();
            for (String line : lines.subList(1, totalsAt)) {
                List<String> c = cells(line);
                if (c.size() < 9 || !(c.get(0).equals("PAYMENT") || c.get(0).equals("REFUND"))) {
                    throw new CashierDeskProtocolException("statement row of unknown shape: " + c.get(0), 200);
                }
                rows.add(new SdkStatement.Row(c.get(0), Long.parseLong(c.get(1)), c.get(2), c.get(3).isEmpty() ? null : Long.valueOf(c.get(3)),
                        emptyToNull(c.get(4)), emptyToNull(c.get(5)), emptyToNull(c.get(6)), Long.parseLong(c.get(7)), c.get(8)));
            }
            List<String> t = cells(lines.get(totalsAt + 1));
            if (t.size() < 5) {
                throw new CashierDeskProtocolException("statement totals row is incomplete", 200);
            }
            return new SdkStatement(csv, rows, Long.parseLong(t.get(0)), Long.parseLong(t.get(1)), Long.parseLong(t.get(2)), Long.parseLong(t.get(3)),
                    Long.parseLong(t.get(4)));
        } catch (NumberFormatException e) {
            throw new CashierDeskProtocolException("statement has a malformed number", 200, e);
        }
    }

    private static String emptyToNull(String s) {
        return s.isEmpty() ? null : s;
    }

    /** Splits one CSV line (RFC 4180 quoting; statements never put line breaks inside cells). */
    static List<String> cells(String line) {
        List<String> out = new ArrayList<String>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cur.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
