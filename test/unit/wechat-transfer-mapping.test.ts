/**
 * 商家转账 bill states → TransferOutcome (providers/wechat/transfer.ts mapTransferBill): which states are final,
 * which FAIL reasons mean "nobody went through with it" (CANCELLED), and that unknown or incomplete answers are
 * never guessed at.
 */
import { ProviderError } from '../../providers/types';
import { mapTransferBill, type WechatTransferBill } from '../../providers/wechat/transfer';

const who = { mchId: '1900000109', appId: 'wx1234567890abcdef' };
const bill = (over: WechatTransferBill): WechatTransferBill => ({
  out_bill_no: 'CDT0000000001',
  transfer_bill_no: '1330000071100999991182020050700019480001',
  create_time: '2025-01-22T15:44:23+08:00',
  update_time: '2025-01-22T15:45:01+08:00',
  ...over,
});

describe('mapTransferBill', () => {
  it.each(['ACCEPTED', 'PROCESSING', 'TRANSFERING', 'CANCELING'])('%s → PROCESSING (not final)', (state) => {
    expect(mapTransferBill(bill({ state }), who)).toMatchObject({ status: 'PROCESSING', providerTransferId: '1330000071100999991182020050700019480001' });
  });

  it('WAIT_USER_CONFIRM → the requestMerchantTransfer parameters; the package only where WeChat answered one', () => {
    expect(mapTransferBill(bill({ state: 'WAIT_USER_CONFIRM', package_info: 'ABBQO+oY/A==' }), who)).toMatchObject({
      status: 'WAIT_USER_CONFIRM',
      confirm: { mchId: who.mchId, appId: who.appId, package: 'ABBQO+oY/A==' },
    });
    const fromQuery = mapTransferBill(bill({ state: 'WAIT_USER_CONFIRM' }), who);
    expect(fromQuery.status === 'WAIT_USER_CONFIRM' && fromQuery.confirm).toEqual({ mchId: who.mchId, appId: who.appId });
  });

  it('SUCCESS → transferTime = update_time; without it (or without transfer_bill_no) the answer is not trusted', () => {
    const ok = mapTransferBill(bill({ state: 'SUCCESS' }), who);
    expect(ok.status === 'SUCCESS' && ok.transferTime.toISOString()).toBe('2025-01-22T07:45:01.000Z');
    expect(() => mapTransferBill(bill({ state: 'SUCCESS', update_time: undefined }), who)).toThrow(ProviderError);
    expect(() => mapTransferBill(bill({ state: 'SUCCESS', transfer_bill_no: '' }), who, 'BAD_CALLBACK')).toThrow(
      expect.objectContaining({ kind: 'BAD_CALLBACK' }),
    );
  });

  it('FAIL → FAIL with fail_reason and WeChat’s explanation; OVERDUE_CLOSE and MCH_CANCEL → CANCELLED', () => {
    expect(mapTransferBill(bill({ state: 'FAIL', fail_reason: 'NAME_NOT_CORRECT' }), who)).toMatchObject({
      status: 'FAIL', errorCode: 'NAME_NOT_CORRECT', errorMsg: '收款人姓名校验不通过，请核实信息',
    });
    expect(mapTransferBill(bill({ state: 'FAIL', fail_reason: 'SOMETHING_NEW' }), who)).toMatchObject({ status: 'FAIL', errorCode: 'SOMETHING_NEW', errorMsg: '转账失败' });
    expect(mapTransferBill(bill({ state: 'FAIL' }), who)).toMatchObject({ status: 'FAIL', errorCode: 'OTHER_FAIL_REASON_TYPE' });
    expect(mapTransferBill(bill({ state: 'FAIL', fail_reason: 'OVERDUE_CLOSE' }), who)).toMatchObject({ status: 'CANCELLED', reason: 'OVERDUE_CLOSE' });
    expect(mapTransferBill(bill({ state: 'FAIL', fail_reason: 'MCH_CANCEL' }), who)).toMatchObject({ status: 'CANCELLED', reason: 'MCH_CANCEL' });
    expect(mapTransferBill(bill({ state: 'CANCELLED' }), who)).toMatchObject({ status: 'CANCELLED', reason: 'CANCELLED' });
  });

  it('an unknown state is thrown, never guessed', () => {
    expect(() => mapTransferBill(bill({ state: 'PAID' }), who)).toThrow(expect.objectContaining({ kind: 'BAD_RESPONSE' }));
    expect(() => mapTransferBill(bill({}), who, 'BAD_CALLBACK')).toThrow(expect.objectContaining({ kind: 'BAD_CALLBACK' }));
  });
});
