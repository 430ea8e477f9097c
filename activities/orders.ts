import type { Db } from '../db/connection';
import { findOrderById, type OrderRow } from '../db/queries/orders';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';

/** The order an activity works on; a missing one is a non-retryable 4040 (retrying cannot make it appear). */
export async function mustFindOrder(db: Db, orderId: number): Promise<OrderRow> {
  const order = await findOrderById(db, orderId);
  if (!order) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `order ${orderId} not found`));
  return order;
}
