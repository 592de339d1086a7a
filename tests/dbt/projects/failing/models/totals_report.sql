select * from {{ ref('broken_totals') }} where total > 0
