-- Fails at run time: the column does not exist.
select customer_id, sum(amount_that_does_not_exist) as total
from {{ ref('raw_payments') }}
group by customer_id
