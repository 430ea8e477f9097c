package cn.huolala.lala.pay.cashier.desk.sdk.exception;

/**
 * The request did not complete: connection refused or reset, timeout, an unreadable answer. Retrying is safe:
 * orders, refunds and transfers are idempotent per outTradeNo / outRefundNo / outBizNo.
 */
public class CashierDeskNetworkException extends CashierDeskException {
    private static final long serialVersionUID = 1L;

    public CashierDeskNetworkException(String msg, Throwable cause) {
        super(CLIENT_SIDE, msg, 0, cause);
    }
}
