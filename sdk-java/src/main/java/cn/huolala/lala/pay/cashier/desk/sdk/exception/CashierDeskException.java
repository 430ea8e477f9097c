package cn.huolala.lala.pay.cashier.desk.sdk.exception;

/**
 * A call to the cashier desk did not succeed.
 *
 * <p>{@link #getCode()} is the envelope's {@code code} when the cashier desk answered with an error (4000
 * validation, 4010 signature, 4030 not allowed, 4040 not found, 4090 conflict, 4130 too large, 4290 rate
 * limited, 5000 internal, 5030 provider unavailable), or {@link #CLIENT_SIDE} when no valid answer came back
 * (see {@link CashierDeskNetworkException} and {@link CashierDeskProtocolException}). Subclasses say more.
 */
public class CashierDeskException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The code of failures that happened on this side: no envelope from the cashier desk to take a code from. */
    public static final int CLIENT_SIDE = -1;

    private final int code;
    private final String msg;
    private final int httpStatus;

    public CashierDeskException(int code, String msg, int httpStatus) {
        this(code, msg, httpStatus, null);
    }

    public CashierDeskException(int code, String msg, int httpStatus, Throwable cause) {
        super("cashier desk error " + code + ": " + msg + (httpStatus > 0 ? " (HTTP " + httpStatus + ")" : ""), cause);
        this.code = code;
        this.msg = msg;
        this.httpStatus = httpStatus;
    }

    /** The envelope's {@code code}, or {@link #CLIENT_SIDE}. */
    public int getCode() {
        return code;
    }

    /** The envelope's {@code msg} (Chinese for the cashier desk's own errors), or what went wrong here. */
    public String getMsg() {
        return msg;
    }

    /** The HTTP status of the answer, 0 when there was none. */
    public int getHttpStatus() {
        return httpStatus;
    }
}
