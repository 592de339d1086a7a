select customer_id, sum(amount) as total from {{ ref('payments') }} group by customer_id
