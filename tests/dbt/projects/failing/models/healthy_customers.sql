select distinct customer_id from {{ ref('raw_payments') }}
