package cn.huolala.lala.pay.cashier.desk.sdk.sign;

import java.util.Collection;
import java.util.Map;

/**
 * Reads one header of a message, whatever holds them: a servlet request ({@code request::getHeader}), a
 * {@code com.sun.net.httpserver.Headers}, Spring's {@code HttpHeaders}, a plain map. Returns null for an absent
 * header.
 */
@FunctionalInterface
public interface HeaderLookup {
    String get(String name);

    /**
     * A lookup over a map of header name to value, case-insensitive in the name. A value may be a String, a
     * String[] or a Collection (as {@code Map<String, List<String>>} holds them); a header present more than
     * once reads as absent, so a second copy cannot choose which value is verified.
     */
    static HeaderLookup of(final Map<String, ?> headers) {
        return name -> {
            Object value = headers.get(name);
            if (value == null) {
                for (Map.Entry<String, ?> e : headers.entrySet()) {
                    if (e.getKey() != null && e.getKey().equalsIgnoreCase(name)) {
                        value = e.getValue();
                        break;
                    }
                }
            }
            if (value instanceof String[]) {
                String[] values = (String[]) value;
                return values.length == 1 ? values[0] : null;
            }
            if (value instanceof Collection) {
                Collection<?> values = (Collection<?>) value;
                if (values.size() != 1) {
                    return null;
                }
                Object only = values.iterator().next();
                return only == null ? null : only.toString();
            }
            return value == null ? null : value.toString();
        };
    }
}
