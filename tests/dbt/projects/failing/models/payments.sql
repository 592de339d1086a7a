select payment_id, customer_id, method, paid_at, amount from {{ ref('raw_payments') }}
