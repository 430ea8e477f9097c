package cn.huolala.lala.pay.cashier.desk.sdk.model;

import java.util.Map;

/** {@code data} of 转账 {@code POST /transfers} and 转账查询 {@code GET /transfers/{outBizNo}}. */
public class SdkTransferResponse {
    private long transferId;
    private String outBizNo;
    private String channelType;
    private long amount;
    private String payeeType;
    private String payeeAccount;
    /** {@code PENDING_APPROVAL}, {@code PROCESSING}, {@code WAIT_USER_CONFIRM}, {@code SUCCESS}, {@code FAIL} or {@code CANCELLED}. */
    private String status;
    private String transferTime;
    private String resultErrorCode;
    private String resultErrorMsg;
    /** While WAIT_USER_CONFIRM (WeChat): what the payee's client passes to WeChat, e.g. mchId, appId, package. */
    private Map<String, String> confirm;

    public long getTransferId() {
        return transferId;
    }

    public String getOutBizNo() {
        return outBizNo;
    }

    public String getChannelType() {
        return channelType;
    }

    public long getAmount() {
        return amount;
    }

    public String getPayeeType() {
        return payeeType;
    }

    public String getPayeeAccount() {
        return payeeAccount;
    }

    public String getStatus() {
        return status;
    }

    public String getTransferTime() {
        return transferTime;
    }

    public String getResultErrorCode() {
        return resultErrorCode;
    }

    public String getResultErrorMsg() {
        return resultErrorMsg;
    }

    public Map<String, String> getConfirm() {
        return confirm;
    }
}
