package cn.huolala.lala.pay.cashier.desk.sdk.exception;

/**
 * The cashier desk answered something that is not what the API promises: not a {code,msg} envelope, a success
 * without the expected fields, a notification body that is not a payment, refund or transfer result of this app.
 */
public class CashierDeskProtocolException extends CashierDeskException {
    private static final long serialVersionUID = 1L;

    public CashierDeskProtocolException(String msg, int httpStatus) {
        super(CLIENT_SIDE, msg, httpStatus);
    }

    public CashierDeskProtocolException(String msg, int httpStatus, Throwable cause) {
        super(CLIENT_SIDE, msg, httpStatus, cause);
    }
}
