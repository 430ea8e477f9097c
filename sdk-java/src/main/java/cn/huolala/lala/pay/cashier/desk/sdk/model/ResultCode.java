package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** Values of {@code resultCode} in query answers and payment notifications. */
public final class ResultCode {
    /** 支付成功: paid. */
    public static final String SUCCESS = "SUCCESS";
    /** 交易完成: paid, no more refunds possible. */
    public static final String FINISH = "FINISH";
    /** 支付失败: failed or closed unpaid ({@code resultErrorCode} ORDER_CLOSED for an expired order). */
    public static final String FAIL = "FAIL";
    /** 没有查到支付结果: no result yet, do nothing. */
    public static final String NULL = "NULL";

    private ResultCode() {
    }
}
