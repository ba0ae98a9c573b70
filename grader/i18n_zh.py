"""中文消息目录 (the Chinese message catalogue): English text -> 中文, read by :mod:`grader.i18n`.

Shipped in the student kit.  Keys are the English text exactly as the code writes it: the
templates of ``grader/checks.py`` and ``grader/grading/selfcheck.py`` (``{name}``-style
placeholders, filled in with ``str.format``, format specs included), and the strings that
the test cells of ``solutions/`` pass to the helpers (names, hints, classic mistakes; an
f-string as written in the cell, ``{T}`` and all).  A translation keeps every placeholder of
its key.  Terms follow ``zh/terms.yml``.  ``tests/test_zh_messages.py`` fails on a missing,
extra-placeholder or stale entry: after changing an English message, change its key here.
"""

MESSAGES: dict[str, str] = {
    # ------------------------------------------------------------------ grader/checks.py
    "{name}: your code returned None. Did you forget a `return` statement, or leave "
    "`raise NotImplementedError()` in place?":
        "{name}：你的代码返回了 None。是不是忘了写 `return` 语句，"
        "或者没有删掉 `raise NotImplementedError()`？",
    "{name}: expected numbers, got {kind}: {value}":
        "{name}：应当是数值，得到的却是 {kind}：{value}",
    "your axes are ({yours}) = {got}, but the expected order is ({axes}) = {expected}":
        "你的各轴依次是 ({yours}) = {got}，而应有的顺序是 ({axes}) = {expected}",
    " ({got} instead of {expected})": "（得到 {got}，应为 {expected}）",
    "the rows and columns are swapped (transposed){shapes}": "行和列对调了（转置了）{shapes}",
    "the axes are in another order{shapes}": "各轴的顺序不对{shapes}",
    "{name}: expected shape {expected}, got {got}: the axes are in the wrong order: {axes}. "
    "Stack or transpose so that the axes come in the expected order.":
        "{name}：形状应为 {expected}，得到的是 {got}，轴的顺序不对：{axes}。"
        "请在堆叠或转置时让各轴按应有的顺序排列。",
    "{name}: expected shape {expected}, got {got}. Check which axis is time, which is the "
    "batch, and whether a vector should be a row (1, n), a column (n, 1) or plain (n,).":
        "{name}：形状应为 {expected}，得到的是 {got}。请检查哪个轴是时间、哪个轴是批量，"
        "以及向量应该是行向量 (1, n)、列向量 (n, 1) 还是一维的 (n,)。",
    "every value is zero: it was never computed, or never added (+=) into the array you return":
        "所有值都是零：它们没有被计算出来，或者没有累加（+=）到你返回的数组里",
    "the sign is flipped: every value has the opposite sign": "符号反了：每个值的正负号都相反",
    "every value is {factor:.6g} times the expected one: a factor is missing or extra "
    "(a sum instead of a mean? a division forgotten?)":
        "每个值都是正确值的 {factor:.6g} 倍：少乘或多乘了一个系数"
        "（是不是把平均写成了求和？忘了做除法？）",
    "each row should be a probability distribution summing to 1, but yours sum to other "
    "numbers: the rows are right up to their sum, so normalise each row by dividing by its sum":
        "每一行都应是和为 1 的概率分布，而你的各行之和不是 1：除了行和以外各行都对，"
        "请把每一行除以它的和来归一化",
    "NaN comes from 0/0, inf - inf, 0 * log(0) or the logarithm of a negative number, often "
    "after an overflow (exp of a large number?).":
        "NaN 来自 0/0、inf - inf、0 * log(0) 或负数的对数，常常发生在溢出之后"
        "（是不是对一个很大的数取了 exp？）。",
    "-inf is the logarithm of 0: look for a probability that underflowed to 0 or an "
    "impossible event, or for an overflow.":
        "-inf 是 0 的对数：请找一找下溢成 0 的概率、不可能事件，或者溢出。",
    "Look for an overflow (exp of a large number?) or a division by zero.":
        "请找一找溢出（是不是对一个很大的数取了 exp？）或除以零的地方。",
    "{name}: the numbers are right but the axes are in the wrong order: {axes}. Stack or "
    "transpose so that the axes come in the expected order.":
        "{name}：数值是对的，但轴的顺序不对：{axes}。请在堆叠或转置时让各轴按应有的顺序排列。",
    "{name}: the numbers may be right but the shape is {got}, expected {expected}. Reshape, "
    "or check the order of the axes.":
        "{name}：数值也许是对的，但形状是 {got}，应为 {expected}。请用 reshape 调整形状，"
        "或检查各轴的顺序。",
    "{name} is {dtype} (single precision), but this course works in float64, NumPy's "
    "default: the tests compare with tolerances meant for float64. Find where float32 enters "
    "(dtype=np.float32, .astype(np.float32), numbers that were float32 to begin with) and "
    "keep every array float64. ":
        "{name} 是 {dtype}（单精度），而本课程使用 NumPy 的默认类型 float64：测试的容差是按 "
        "float64 设定的。请找出 float32 从哪里混进来（dtype=np.float32、.astype(np.float32)、"
        "本来就是 float32 的数），让所有数组都保持 float64。",
    "Apart from that, your values agree with the expected ones to float32 precision.":
        "除此之外，你的数值在 float32 精度内与正确答案一致。",
    "Your values also differ from the expected ones:": "你的数值也与正确答案不同：",
    "{name}: contains NaN or infinity: {values}. {why}": "{name}：含有 NaN 或无穷大：{values}。{why}",
    "{name} is wrong: it looks like {diagnosis}.": "{name} 不对：看起来{diagnosis}。",
    "{name} is wrong.": "{name} 不对。",
    "{wrong} of {size} values differ; the largest difference is {largest:.3g} at index {where}.":
        "{size} 个值中有 {wrong} 个不同；最大的差为 {largest:.3g}，位于下标 {where}。",
    "The difference is {difference:.3g}.": "两者相差 {difference:.3g}。",
    "{name} is not implemented yet.": "{name} 还没有实现。",
    "{call} should raise {wanted}, but raised {kind}: {error}":
        "{call} 应当抛出 {wanted}，却抛出了 {kind}：{error}",
    "{call} should raise {wanted}{why}, but returned normally.":
        "{call} 应当抛出 {wanted}{why}，却正常返回了。",
    ": {why}": "（{why}）",
    "{name}: expected {expected}, got {got}.": "{name}：应为 {expected}，得到的是 {got}。",
    "Missing: {names}.": "缺少：{names}。",
    "Not expected: {names}.": "多出：{names}。",
    # the labels before the two values; each pair has the same width in a terminal
    "expected: ": "正确答案：",
    "got:      ": "你的答案：",
    "Hint: {hint}": "提示：{hint}",

    # ------------------------------------------------- grader/grading/selfcheck.py (grader check)
    "[... {more} more characters: run the cell in the notebook to read everything]":
        "[……还有 {more} 个字符：在笔记本里运行这个单元格可以看到全部]",
    "the test did not finish within {timeout:g} s and was stopped":
        "测试没有在 {timeout:g} 秒内结束，已被停止",
    "the kernel died while this test ran (a crash, `exit()` or running out of memory)":
        "运行这个测试时内核崩溃了（程序崩溃、调用了 `exit()` 或内存耗尽）",
    "not attempted yet": "还没有作答",
    "{ename} (no message)": "{ename}（没有消息）",
    "interrupted": "被中断",
    "the test cell wrote to standard error:": "测试单元格向标准错误输出写了内容：",
    "not run: an earlier cell never finished and could not be stopped":
        "未运行：前面有一个单元格一直没有结束，也无法停止",
    "not run: the kernel died (a crash, `exit()` or running out of memory) in an earlier cell":
        "未运行：内核在前面的某个单元格中崩溃了（程序崩溃、调用了 `exit()` 或内存耗尽）",
    "the cell '{grade_id}' appears {count} times (copied?): nbgrader refuses a notebook with "
    "duplicate cells; delete the copies":
        "单元格 '{grade_id}' 出现了 {count} 次（被复制了？）：nbgrader 不接受含有重复单元格的"
        "笔记本，请删掉副本",
    "{grade_id}: your test cell was edited; it will be restored before grading":
        "{grade_id}：你修改了测试单元格；评分前它会被恢复原样",
    "{grade_id}: this read-only cell was edited; it will be restored before grading":
        "{grade_id}：这个只读单元格被修改了；评分前它会被恢复原样",
    "no graded test cells found: is this an exercise notebook of the course?":
        "没有找到计分的测试单元格：这是本课程的练习笔记本吗？",
    "cell {number}": "第 {number} 个单元格",
    "{name} did not finish within {timeout:g} s and was stopped":
        "{name} 没有在 {timeout:g} 秒内结束，已被停止",
    "the kernel died while {name} ran": "运行 {name} 时内核崩溃了",
    "{name} raised {error}": "{name} 抛出了 {error}",
    "the notebook's kernel cannot import the course kit: ": "笔记本的内核无法导入课程工具包：",
    "not run: the course kit is missing in the notebook's kernel": "未运行：笔记本的内核里没有课程工具包",
    "{points} pt": "{points} 分",
    "{points} pts": "{points} 分",
    "Self-check of {notebook} (run from the top in a fresh kernel)":
        "{notebook} 的自查（在新内核中从头运行）",
    "WARNING: ": "警告：",
    "hint: ": "提示：",
    "Public tests passed: {passed} of {questions} questions ({got:g} of {total:g} points).":
        "公开测试：{questions} 道题中通过 {passed} 道（{total:g} 分中得 {got:g} 分）。",
    "All public tests pass. Hidden tests with other inputs also run when your work is graded.":
        "公开测试全部通过。正式评分时还会用其他输入运行隐藏测试。",
    # the table's status labels (LABELS)
    "PASS": "通过",
    "FAIL": "未通过",
    "TODO": "待做",
    "ERROR": "出错",
    "SKIP": "跳过",
    # the hints (HINTS)
    "replace `raise NotImplementedError()` with your code (in this question's answer cell, "
    "or in an earlier one that it uses)":
        "把 `raise NotImplementedError()` 换成你的代码（在本题的作答单元格里，"
        "或在它用到的前面某个单元格里）",
    "compare `expected` with `got`, fix your function and run the notebook again from the "
    "top (Kernel -> Restart & Run All)":
        "对照“正确答案”和“你的答案”，改好你的函数，再从头运行整个笔记本"
        "（Kernel -> Restart & Run All）",
    "a test's condition is false: read its message, fix your function and run again":
        "测试的条件不成立：读一读它的消息，改好你的函数后再运行",
    "a name the test uses is not defined: did you rename or delete the function, or does its "
    "answer cell fail? Keep the names given in the question":
        "测试用到的某个名字没有定义：你是不是改了函数名或删掉了函数，或者它的作答单元格出错了？"
        "请保留题目给出的名字",
    "the cell ran for too long: look for a loop that never ends":
        "单元格运行得太久了：找一找永远不会结束的循环",
    "look for `exit()`, `os._exit` or `quit()` in your code, or for arrays far larger than "
    "the question needs":
        "在你的代码里找一找 `exit()`、`os._exit` 或 `quit()`，或者远大于题目所需的数组",
    "nbgrader gives no points to a test cell that writes to standard error (a warning, for "
    "example): find out what prints it and fix that":
        "向标准错误输出写内容（比如一条警告）的测试单元格在 nbgrader 里不得分："
        "找出是什么打印了它，并加以修正",
    "install the course kit into the Python that runs the notebook's kernel (the notebook's "
    "first cell says how), or choose a kernel that has it with --kernel":
        "把课程工具包安装到运行笔记本内核的 Python 中（笔记本的第一个单元格说明了怎么装），"
        "或者用 --kernel 选择一个装有它的内核",
    "your code raised this error while the test ran it: open the notebook and run the cell "
    "to see the full traceback":
        "测试运行你的代码时它抛出了这个错误：打开笔记本运行该单元格，可以看到完整的回溯信息",
    "fix the problem reported above, then check again": "先解决上面报告的问题，再检查一次",
    "could not start the Jupyter kernel {name!r} ({kind}: {error}); is ipykernel installed?":
        "无法启动 Jupyter 内核 {name!r}（{kind}：{error}）；ipykernel 装好了吗？",
    "{path}: not a readable Jupyter notebook ({error})":
        "{path}：不是可以读取的 Jupyter 笔记本（{error}）",
    # grader/cli/check.py
    "{notebook} does not exist": "{notebook} 不存在",
    "error: ": "错误：",

    # ------------------------------- grader/grading/misconceptions.py (a hidden test's failure)
    # what feedback says when a hidden test fails: the mistake named, no value of the test
    "{name} is wrong: {why}.": "{name} 不对：{why}。",
    "the axes are in another order than expected (transposed, or stacked along another axis)":
        "各轴的顺序与应有的不同（转置了，或者沿另一个轴堆叠了）",
    "every value is off by the same factor: a factor is missing or extra (a sum instead of a "
    "mean? a division forgotten?)":
        "每个值都差了同一个倍数：少乘或多乘了一个系数（是不是把平均写成了求和？忘了做除法？）",
    "each row should be a probability distribution summing to 1, but yours sum to other numbers":
        "每一行都应是和为 1 的概率分布，而你的各行之和不是 1",
    "your code returned None (a missing `return`?)": "你的代码返回了 None（是不是少了 `return`？）",
    "your code did not return numbers": "你的代码返回的不是数值",
    "your answer has another shape than the expected one (check which axis is time, which is "
    "the batch, and whether a vector should be a row, a column or plain)":
        "你的答案的形状与应有的不同（请检查哪个轴是时间、哪个轴是批量，"
        "以及向量应该是行向量、列向量还是一维的）",
    "your answer is float32, but this course works in float64": "你的答案是 float32，而本课程使用 float64",
    "your answer contains NaN or infinity: look for an overflow (exp of a large number?), a "
    "division by zero or the logarithm of 0":
        "你的答案含有 NaN 或无穷大：请找一找溢出（是不是对一个很大的数取了 exp？）、"
        "除以零或对 0 取对数的地方",
    "your values differ from the expected ones": "你的数值与正确答案不同",
    "it is not implemented yet": "还没有实现",
    "(a hidden test, on inputs of its own; its expected values are not shown: try your code on "
    "inputs of other shapes and sizes)":
        "（这是隐藏测试，用的是它自己的输入；它的正确答案不会显示：请用其他形状和大小的输入"
        "试一试你的代码）",
    "the result": "结果",

    # ------------------------------------------- solutions/01_rnn_by_hand: the test cells' text
    "a 1-D vector on the left is a row vector: the result is 1-D too":
        "左边的一维向量是行向量：结果也是一维的",
    "the inner product of two vectors is a number, whose shape is ()":
        "两个向量的内积是一个数，它的形状是 ()",
    "a 1-D vector on the right is a column vector: the result is 1-D too":
        "右边的一维向量是列向量：结果也是一维的",
    "the inner dimensions differ": "内侧的维数不相等",
    "as_row of a vector of length {n}": "对长度为 {n} 的向量调用 as_row",
    "as_column of a vector of length {n}": "对长度为 {n} 的向量调用 as_column",
    "step 1, before activation": "第 1 步的激活前值",
    "you left out the bias b_cell": "你漏掉了偏置 b_cell",
    "you returned (h_next, before_activation): the pair comes in the order "
    "(before_activation, h_next)":
        "你返回的是 (h_next, before_activation)：这一对值的顺序应是 (before_activation, h_next)",
    "step 1, state": "第 1 步的状态",
    "you forgot the tanh": "你忘了 tanh",
    "step 2, before activation": "第 2 步的激活前值",
    "you multiplied W_state @ h_prev: the state is a row vector, so it goes on the left":
        "你算的是 W_state @ h_prev：状态是行向量，应当放在左边",
    "step 2, state": "第 2 步的状态",
    "before_activation (H={H}, case {case})": "before_activation（H={H}，第 {case} 组）",
    "you used W_state @ h_prev instead of h_prev @ W_state":
        "你用了 W_state @ h_prev，而不是 h_prev @ W_state",
    "h_next (H={H}, case {case})": "h_next（H={H}，第 {case} 组）",
    "states": "状态",
    "you forgot the tanh (these are the linear network's states)":
        "你忘了 tanh（这是线性网络的状态）",
    "each step starts again from h0: carry the new state into the next step":
        "每一步都重新从 h0 开始了：要把新的状态带到下一步",
    "outputs": "输出",
    "you forgot the tanh (these are the linear network's outputs)":
        "你忘了 tanh（这是线性网络的输出）",
    "you left out the output bias b_output": "你漏掉了输出偏置 b_output",
    "states (T={T}, H={H})": "状态（T={T}，H={H}）",
    "outputs (T={T}, H={H}, O={O})": "输出（T={T}，H={H}，O={O}）",
    "linear states": "线性网络的状态",
    "the tanh is still there": "tanh 还在",
    "linear outputs": "线性网络的输出",
    "linear states (T={T}, H={H})": "线性网络的状态（T={T}，H={H}）",
    "linear outputs (T={T}, O={O})": "线性网络的输出（T={T}，O={O}）",
    "outputs of the first sequence": "第一个序列的输出",
    "outputs of the third sequence": "第三个序列的输出",
    "states (N={N}, T={T}, D={D}, H={H})": "状态（N={N}，T={T}，D={D}，H={H}）",
    "outputs (N={N}, T={T}, O={O})": "输出（N={N}，T={T}，O={O}）",

    # ------------------------------------------ solutions/02_hmm_dice: the test cells' text
    "states for T=1": "T=1 时的状态序列",
    "obs for T=1": "T=1 时的观测序列",
    "{name}: row {i}, column {j} has probability 0, yet it happened {int(counts[i, j])} "
    "times":
        "{name}：第 {i} 行第 {j} 列的概率是 0，"
        "却出现了 {int(counts[i, j])} 次",
    "{name}: the frequencies in row {i} do not match its probabilities, even allowing "
    "for chance ({int(n[i, 0])} draws).\n  probabilities: "
    "{np.round(probabilities[i], 3)}\n  frequencies:   "
    "{np.round(counts[i] / n[i, 0], 3)}\n  Row i of A is the distribution of the next "
    "state after state i, and row i of B the distribution of the symbol shown in state i.":
        "{name}：第 {i} 行的频率与它的概率不符，"
        "即使考虑到随机性也说不过去（共抽取 {int(n[i, 0])} 次）。"
        "\n  概率：{np.round(probabilities[i], 3)}\n  "
        "频率：{np.round(counts[i] / n[i, 0], 3)}\n  "
        "A 的第 i 行是状态 i 之后下一个状态的分布，"
        "B 的第 i 行是状态 i 下显示的符号的分布。",
    "{name}: states": "{name}：状态序列",
    "{name}: obs": "{name}：观测序列",
    "{name}: states and obs hold integers": "{name}：状态序列和观测序列都应是整数",
    "create them with dtype=int": "创建它们时请用 dtype=int",
    "{name}: the same seed gives the same sequence": "{name}：相同的种子应给出相同的序列",
    "draw every random number from rng, not from np.random":
        "每个随机数都要从 rng 中抽取，而不是从 np.random 中抽取",
    "{name}: transitions": "{name}：状态转移",
    "{name}: emissions": "{name}：发射",
    "{name}: first states": "{name}：初始状态",
    "a random HMM (K={K}, M={M})": "随机的隐马尔可夫模型（K={K}，M={M}）",
    "loaded, constrained dice": "灌铅、转移受限的骰子",
    "fair dice: D6, D6, D8 showing 1, 6, 7": "公平的骰子：D6、D6、D8 掷出 1、6、7",
    "you forgot the start probability": "你忘了初始概率",
    "you returned the probability, not its logarithm": "你返回的是概率本身，而不是它的对数",
    "loaded, constrained dice: D6, D6, D8 showing 1, 6, 7":
        "灌铅、转移受限的骰子：D6、D6、D8 掷出 1、6、7",
    "you read A the wrong way round: A[i, j] is the probability of going from state i to "
    "state j":
        "你把 A 读反了：A[i, j] 是从状态 i 转移到状态 j 的概率",
    "a D4 showing a 7": "D4 掷出 7",
    "an impossible pair has probability 0, whose logarithm is -inf":
        "不可能出现的组合概率为 0，其对数为 -inf",
    "a D4 right after a D6 in the constrained model": "在转移受限的模型中，D6 之后紧接着 D4",
    # the set-up cell's check_log_probability (a long sequence's log-probability) and its names
    "{name} is {got} for a sequence of T={T} symbols, but should be about {expected}: your "
    "probabilities underflowed to 0. A product of {T} numbers below 1 is far smaller than the "
    "smallest float64 (about 1e-308): scale each step or work with logarithms.":
        "{name} 在长度 T={T} 的序列上是 {got}，但应当约为 {expected}：你的概率下溢成了 0。"
        "{T} 个小于 1 的数相乘，远小于 float64 能表示的最小正数（约 1e-308）："
        "每一步都要缩放，或者改用对数计算。",
    "probabilities this small (below 1e-304) lose their precision, then underflow, in float64: "
    "scale each step or work with logarithms":
        "这么小的概率（低于 1e-304）在 float64 中会先丢失精度，然后下溢：每一步都要缩放，"
        "或者改用对数计算",
    "joint_log_prob for a random HMM (K=3, M=5, T=20000)":
        "随机隐马尔可夫模型上的 joint_log_prob（K=3，M=5，T=20000）",
    "log_likelihood of 5000 random faces under the loaded, constrained dice":
        "灌铅、转移受限的骰子下 5000 个随机点数的 log_likelihood",
    "log_likelihood for a random HMM (K={K}, M={M}, T=20000)":
        "随机隐马尔可夫模型上的 log_likelihood（K={K}，M={M}，T=20000）",
    "log_likelihood before the step (K={K}, M={M}, T={T})":
        "这一步之前的 log_likelihood（K={K}，M={M}，T={T}）",
    "the joint log-probability of your path for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型（K={K}，M={M}，T={T}）上你的路径的联合对数概率",
    "the joint log-probability of your path for a random HMM (K=3, M=6, T=20000)":
        "随机隐马尔可夫模型（K=3，M=6，T=20000）上你的路径的联合对数概率",
    "joint_log_prob for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的 joint_log_prob（K={K}，M={M}，"
        "T={T}）",
    "fair dice: scales": "公平的骰子：scales",
    "fair dice: alphas": "公平的骰子：alphas",
    "loaded, constrained dice: alphas": "灌铅、转移受限的骰子：alphas",
    "loaded, constrained dice: scales": "灌铅、转移受限的骰子：scales",
    "fair dice: the sums of the rows of alphas": "公平的骰子：alphas 各行之和",
    "loaded, constrained dice: the sums of the rows of alphas":
        "灌铅、转移受限的骰子：alphas 各行之和",
    "divide each step's vector by its sum": "每一步都要把向量除以它的和",
    "fair dice: log_likelihood of the faces 1 1 5 7 2 1":
        "公平的骰子：点数 1 1 5 7 2 1 的 log_likelihood",
    "loaded, constrained dice: log_likelihood of the faces 1 1 5 7 2 1":
        "灌铅、转移受限的骰子：点数 1 1 5 7 2 1 的 log_likeliho"
        "od",
    "you left out the start probabilities at the first step": "你在第一步漏掉了初始概率",
    "you used A the wrong way round: A[i, j] is the probability of going from state i to "
    "state j":
        "你把 A 用反了：A[i, j] 是从状态 i 转移到状态 j 的概率",
    "fair dice: alphas[-1]": "公平的骰子：alphas[-1]",
    "loaded, constrained dice: alphas[-1]": "灌铅、转移受限的骰子：alphas[-1]",
    "fair dice: the sum of log(scales)": "公平的骰子：log(scales) 之和",
    "loaded, constrained dice: the sum of log(scales)": "灌铅、转移受限的骰子：log(scales) 之和",
    "alphas for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的 alphas（K={K}，M={M}，T={T}）",
    "your alphas are not scaled: divide each row by its sum":
        "你的 alphas 没有缩放：请把每一行除以它的和",
    "you forgot the start probabilities at t = 0": "你在 t = 0 时忘了初始概率",
    "log_likelihood for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的 log_likelihood（K={K}，M={M}，"
        "T={T}）",
    "scales for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的 scales（K={K}，M={M}，T={T}）",
    "every alpha of 5000 faces is a finite number": "5000 个点数的每个 alpha 都是有限数",
    "your probabilities underflowed to 0 (and 0/0 gave NaN): scale each step":
        "你的概率下溢成了 0（0/0 又得到了 NaN）：每一步都要缩放",
    "the sums of the rows of alphas (T=5000)": "alphas 各行之和（T=5000）",
    "every alpha for a random HMM (K={K}, M={M}, T=20000) is a finite number":
        "随机隐马尔可夫模型（K={K}，M={M}，T=20000）"
        "的每个 alpha 都是有限数",
    "alphas for a random HMM (K={K}, M={M}, T=20000)":
        "随机隐马尔可夫模型上的 alphas（K={K}，M={M}，T=20000）",
    "scales for a random HMM (K={K}, M={M}, T=20000)":
        "随机隐马尔可夫模型上的 scales（K={K}，M={M}，T=20000）",
    "fair dice, faces 1 5 7 2": "公平的骰子，点数 1 5 7 2",
    "the best dice for the faces 1 5 7 2 with fair dice":
        "用公平的骰子时，点数 1 5 7 2 最可能来自的骰子",
    "each face is best explained by the smallest die that can show it: D4, D6, D8, D4":
        "每个点数最好的解释是能掷出它的最小的骰子：D4、D6、D8、D4",
    "loaded, constrained dice, faces 1 1 3 1 8 1": "灌铅、转移受限的骰子，点数 1 1 3 1 8 1",
    "the best dice for 1 1 3 1 with the loaded, constrained dice":
        "用灌铅、转移受限的骰子时，1 1 3 1 最可能来自的骰子",
    "once a D6 is chosen it stays with probability 0.9 and shows a 1 half of the time":
        "一旦选中 D6，它以 0.9 的概率留在 D6，并且有一半的时间掷出 1",
    "{name}: path": "{name}：路径",
    "{name}: the path holds integers": "{name}：路径应由整数组成",
    "you left out the start probabilities of the first step": "你在第一步漏掉了初始概率",
    "{name}: the joint log-probability of your path": "{name}：你的路径的联合对数概率",
    "the path must be the one whose probability is log_prob: check the backtracking, and "
    "that each back-pointer psi_t(j) is an argmax over the previous state i (one for "
    "each current state j), not over j":
        "路径必须正是概率为 log_prob 的那一条：请检查回溯，"
        "并确认每个回溯指针 psi_t(j) 是对前一个状态 i 取 argmax（每个"
        "当前状态 j 一个），而不是对 j 取",
    "log_prob for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的 log_prob（K={K}，M={M}，T={T}）",
    "log_prob for a random HMM (K=3, M=6, T=20000)":
        "随机隐马尔可夫模型上的 log_prob（K=3，M=6，T=20000）",
    "path for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的路径（K={K}，M={M}，T={T}）",
    "path for a random HMM (K=3, M=6, T=20000)": "随机隐马尔可夫模型上的路径（K=3，M=6，T=20000）",
    "start with pseudocount 1": "伪计数为 1 时的 start",
    "A with pseudocount 1": "伪计数为 1 时的 A",
    "you normalised the columns instead of the rows: row i of A is the distribution of "
    "the state after state i":
        "你归一化的是列而不是行：A 的第 i 行是状态 i 之后那个状态的分布",
    "you counted a transition from the last state back to the first":
        "你多数了一次从最后一个状态回到第一个状态的转移",
    "you ignored the pseudocount": "你忽略了伪计数",
    "B[D6] with pseudocount 1": "伪计数为 1 时的 B[D6]",
    "start counted from D6, D6, D8, D6": "由 D6、D6、D8、D6 数出的 start",
    "A counted from D6, D6, D8, D6": "由 D6、D6、D8、D6 数出的 A",
    "D4 never occurs, so its row is uniform; D6 is followed once by D6 and once by D8":
        "D4 从未出现，所以它那一行是均匀分布；D6 之后一次是 D6，一次是 D8",
    "B[D6] counted from the faces 1, 3, 6": "由点数 1、3、6 数出的 B[D6]",
    "B[D4] (a die never seen)": "B[D4]（一个从未出现过的骰子）",
    "start (K={K}, M={M}, T={T}, pseudocount={pseudocount})":
        "start（K={K}，M={M}，T={T}，"
        "pseudocount={pseudocount}）",
    "A (K={K}, M={M}, T={T}, pseudocount={pseudocount})":
        "A（K={K}，M={M}，T={T}，pseudocount={pseudoc"
        "ount}）",
    "B (K={K}, M={M}, T={T}, pseudocount={pseudocount})":
        "B（K={K}，M={M}，T={T}，pseudocount={pseudoc"
        "ount}）",
    "betas": "betas（后向概率）",
    "posteriors of the faces 1 1 5 7 2 1 (loaded, constrained dice)":
        "点数 1 1 5 7 2 1 的后验概率（灌铅、转移受限的骰子）",
    "these are the forward alphas: multiply by the betas": "这些是前向的 alphas：还要乘以 betas",
    "alphas * betas": "alphas * betas",
    "divide each backward step by scales[t + 1], the scale of the step it comes from":
        "后向的每一步都要除以 scales[t + 1]，"
        "也就是它所来自的那一步的缩放因子",
    "every beta for a random HMM (K={K}, M={M}, T={T}) is a finite number":
        "随机隐马尔可夫模型（K={K}，M={M}，T={T}）"
        "的每个 beta 都是有限数",
    "divide each backward step by the scale, or the betas overflow or underflow":
        "后向的每一步都要除以缩放因子，否则 betas 会上溢或下溢",
    "betas for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的 betas（K={K}，M={M}，T={T}）",
    "your betas are not scaled: divide each step by scales[t + 1]":
        "你的 betas 没有缩放：每一步都要除以 scales[t + 1]",
    "every posterior for a random HMM (K={K}, M={M}, T={T}) is a finite number":
        "随机隐马尔可夫模型（K={K}，M={M}，T={T}）的每个后验概率都是有限数",
    "your probabilities underflowed to 0 on this long sequence (and 0/0 gave NaN): scale "
    "each step of the forward and backward passes":
        "在这条长序列上你的概率下溢成了 0（0/0 又得到了 NaN）："
        "前向和后向的每一步都要缩放",
    "posteriors for a random HMM (K={K}, M={M}, T={T})":
        "随机隐马尔可夫模型上的后验概率（K={K}，M={M}，T={T}）",
    "log_likelihood before the step": "这一步之前的 log_likelihood",
    "return log P(obs) under the parameters you were given, not the new ones":
        "请返回在给定参数（而不是新参数）下的 log P(obs)",
    "you divided the expected transitions out of state i by its expected visits over all "
    "T steps, but the last step has no next state: normalise each row of the expected "
    "transitions by its own sum":
        "你把从状态 i 出发的期望转移次数除以了它在全部 T 步中的期望访问次数，"
        "但最后一步没有下一个状态：请用期望转移次数每一行自己的和来归一化",
    "the log-likelihood never decreases over five steps (got {np.round(history, 4)})":
        "对数似然在五步中从不下降（实际为 {np.round(history, 4)}）",
    "the log-likelihood never decreases (K={K}, M={M}, T={T}) (got {np.round(steps, 4)})":
        "对数似然从不下降（K={K}，M={M}，T={T}）"
        "（实际为 {np.round(steps, 4)}）",

    # ---------------------------------------- solutions/03_embeddings: the test cells' text
    "one_hot of a (2, 2) array of ids with V = 5":
        "对形状为 (2, 2) 的 id 数组、V = 5 调用 one_hot",
    "the codes of the second row [4, 4]": "第二行 [4, 4] 的编码",
    "5 is not an id when V = 5 (ids run from 0 to 4)": "V = 5 时 5 不是合法的 id（id 从 0 到 4）",
    "-1 is not an id": "-1 不是合法的 id",
    "one_hot of ids of shape {shape}, V = {V}": "对形状为 {shape} 的 id、V = {V} 调用 one_hot",
    "{V} is not an id": "{V} 不是合法的 id",
    "ids of shape (N, T) give vectors of shape (N, T, D)":
        "形状为 (N, T) 的 id 应得到形状为 (N, T, D) 的向量",
    "embedding_forward with V = {V}, D = {D}, ids of shape {shape}":
        "embedding_forward，V = {V}，D = {D}，"
        "id 的形状为 {shape}",
    "embedding_backward(dout, [[0, 2, 0]], V=4)": "embedding_backward(dout, [[0, 2, 0]], V=4)",
    "you wrote dW[ids] += dout (or dW[ids] = dout). NumPy runs dW[ids] += dout as "
    "dW[ids] = dW[ids] + dout: it reads the selected rows once, adds, then writes the "
    "results back position by position, so when an id occurs more than once each write "
    "overwrites the previous one and only its last occurrence counts. A repeated id must "
    "receive the sum of all its gradients: use np.add.at (which adds without buffering), "
    "or a loop over the positions":
        "你写的是 dW[ids] += dout（或 dW[ids] = dout）。"
        "NumPy 把 dW[ids] += dout 当作 dW[ids] = dW["
        "ids] + dout 来执行：它把选中的行读出一次，相加，再逐个位置写回，"
        "所以当一个 id 出现不止一次时，每次写入都会覆盖上一次，"
        "只有它最后一次出现才算数。重复的 id 必须得到它所有梯度之和："
        "请用 np.add.at（它不经缓冲直接累加），或者对各个位置写一个循环",
    "embedding_backward for the ids [1, 1, 1]": "id 为 [1, 1, 1] 时的 embedding_backward",
    "embedding_backward with V = {V}, D = {D}, ids of shape {shape}":
        "embedding_backward，V = {V}，D = {D}，"
        "id 的形状为 {shape}",
    "embedding_backward called a second time (V = {V}, D = {D})":
        "第二次调用 embedding_backward（V = {V}，"
        "D = {D}）",
    "the same numbers as embedding_forward(W, [[0, 2, 0]]) in Question 2":
        "应与第 2 题中 embedding_forward(W, [[0, 2, 0]"
        "]) 的数值相同",
    "one_hot_linear_backward(dout, [[0, 2, 0]], V=4)":
        "one_hot_linear_backward(dout, [[0, 2, 0]"
        "], V=4)",
    "the same numbers as embedding_backward in Question 3":
        "应与第 3 题中 embedding_backward 的数值相同",
    "one_hot_linear_backward compared with the numerical gradient":
        "one_hot_linear_backward 与数值梯度的比较",
    "one_hot_linear versus an embedding lookup (V = {V}, D = {D}, ids {shape})":
        "one_hot_linear 与嵌入查表的比较（V = {V}，D = {D}，"
        "id 的形状为 {shape}）",
    "one_hot_linear_backward versus the embedding's gradient (V = {V}, D = {D}, ids "
    "{shape})":
        "one_hot_linear_backward 与嵌入层梯度的比较（V = {V"
        "}，D = {D}，id 的形状为 {shape}）",
    "rnn_states for N=1, T=2, H=2": "N=1、T=2、H=2 时的 rnn_states",
    "the state after step 1": "第 1 步之后的状态",
    "the last state": "最后的状态",
    "you used Wh @ h instead of h @ Wh: the state is a row vector":
        "你用的是 Wh @ h 而不是 h @ Wh：状态是行向量",
    "the first sequence of a batch of three": "三个序列组成的批量中的第一个序列",
    "step 1 from the given h0": "从给定的 h0 出发的第 1 步",
    "you ignored the given h0: when h0 is given, the first step starts from it":
        "你忽略了给定的 h0：给定 h0 时，第一步要从它出发",
    "rnn_states with N={N}, T={T}, D={D}, H={H}, given h0":
        "rnn_states，N={N}，T={T}，D={D}，H={H}，给定 h0",
    "rnn_states with N={N}, T={T}, D={D}, H={H}": "rnn_states，N={N}，T={T}，D={D}，H={H}",
    "the loss": "损失",
    "you summed over the batch instead of taking the mean": "你对批量求了和，而没有取平均",
    "dlogits": "dlogits",
    "you forgot to divide the gradient by N: the loss is a mean over the N rows":
        "你忘了把梯度除以 N：损失是 N 行的平均",
    "dlogits compared with the numerical gradient": "dlogits 与数值梯度的比较",
    "the loss for the logits [1000, 0, -1000] and label 2":
        "logits 为 [1000, 0, -1000]、标签为 2 时的损失",
    "subtract the row's maximum before np.exp: exp(1000) overflows to inf":
        "在 np.exp 之前先减去该行的最大值：exp(1000) 会上溢成 inf",
    "dlogits for the logits [1000, 0, -1000] and label 2":
        "logits 为 [1000, 0, -1000]、"
        "标签为 2 时的 dlogits",
    "the loss (N={N}, V={V})": "损失（N={N}，V={V}）",
    "dlogits (N={N}, V={V})": "dlogits（N={N}，V={V}）",
    "you forgot to divide the gradient by N": "你忘了把梯度除以 N",
    "logits": "logits",
    "the inputs of the one-hot model": "独热模型的输入",
    "the states": "状态",
    "the logits after 'a' (one-hot model)": "独热模型在 'a' 之后的 logits",
    "the loss of the untrained one-hot model": "未训练的独热模型的损失",
    "one-hot model": "独热模型",
    "the inputs of the embedding model": "嵌入模型的输入",
    "the loss of the untrained embedding model": "未训练的嵌入模型的损失",
    "embedding model": "嵌入模型",
    "embedding model, two steps": "嵌入模型，两步",
    "one-hot model, two steps": "独热模型，两步",
    "embedding model, repeated letters": "嵌入模型，字母重复",
    "{what}: the keys of grads": "{what}：grads 的键",
    "{what}: the gradient for {key} disagrees with the numerical gradient (relative "
    "error {error}, it should be below {TOLERANCE}). Letters repeat in this batch: does "
    "your embedding_backward (Question 3) add up the gradients of every occurrence of an "
    "id?":
        "{what}：{key} 的梯度与数值梯度不一致（相对误差 {error}，"
        "应小于 {TOLERANCE}）。这个批量里有重复的字母："
        "你的 embedding_backward（第 3 题）"
        "是否把一个 id 每次出现的梯度都加起来了？",
    "{what}: the gradient for {key} disagrees with the numerical gradient (relative "
    "error {error}, it should be below {TOLERANCE}).":
        "{what}：{key} 的梯度与数值梯度不一致（相对误差 {error}，"
        "应小于 {TOLERANCE}）。",
    "embedding model: states (V={V}, H={H}, N={N}, T={T})":
        "嵌入模型：状态（V={V}，H={H}，N={N}，T={T}）",
    "one-hot model: states (V={V}, H={H}, N={N}, T={T})":
        "独热模型：状态（V={V}，H={H}，N={N}，T={T}）",
    "embedding model: logits (V={V}, H={H}, N={N}, T={T})":
        "嵌入模型：logits（V={V}，H={H}，N={N}，T={T}）",
    "one-hot model: logits (V={V}, H={H}, N={N}, T={T})":
        "独热模型：logits（V={V}，H={H}，N={N}，T={T}）",
    "embedding model: loss (V={V}, H={H}, N={N}, T={T})":
        "嵌入模型：损失（V={V}，H={H}，N={N}，T={T}）",
    "one-hot model: loss (V={V}, H={H}, N={N}, T={T})":
        "独热模型：损失（V={V}，H={H}，N={N}，T={T}）",
    "embedding model: the keys of grads": "嵌入模型：grads 的键",
    "one-hot model: the keys of grads": "独热模型：grads 的键",
    "embedding model: gradient of {key} (V={V}, H={H}, N={N}, T={T})":
        "嵌入模型：{key} 的梯度（V={V}，H={H}，N={N}，T={T}）",
    "one-hot model: gradient of {key} (V={V}, H={H}, N={N}, T={T})":
        "独热模型：{key} 的梯度（V={V}，H={H}，N={N}，T={T}）",
    "the gradient of embed.W for a mini-batch repeated twice":
        "同一个小批量重复两次时 embed.W 的梯度",
    "your embedding_backward (Question 3) counts a repeated id once: repeating the batch "
    "halved the gradient of embed.W instead of leaving it unchanged":
        "你的 embedding_backward（第 3 题）"
        "把重复的 id 只算了一次：把批量重复一遍，embed.W 的梯度本应不变，"
        "却减半了",
    "one-hot model: the loss should fall during training, but went from "
    "{history['loss'][0]} to {history['loss'][-1]}":
        "独热模型：训练中损失应当下降，但它从 {history['loss'][0]} "
        "变成了 {history['loss'][-1]}",
    "embedding model: the loss should fall during training, but went from "
    "{history['loss'][0]} to {history['loss'][-1]}":
        "嵌入模型：训练中损失应当下降，但它从 {history['loss'][0]} "
        "变成了 {history['loss'][-1]}",
    "one-hot model: the number of accuracies recorded": "独热模型：记录的准确率个数",
    "embedding model: the number of accuracies recorded": "嵌入模型：记录的准确率个数",
    "one-hot model: the number of losses recorded": "独热模型：记录的损失个数",
    "embedding model: the number of losses recorded": "嵌入模型：记录的损失个数",
    "one-hot model: the accuracy after 100 epochs": "独热模型：100 轮之后的准确率",
    "embedding model: the accuracy after 100 epochs": "嵌入模型：100 轮之后的准确率",
    "does every mini-batch take one Adam step, with the gradients of that batch?":
        "是不是每个小批量都用这个批量的梯度做了一步 Adam？",
    "26 letters: the number of accuracies recorded": "26 个字母：记录的准确率个数",
    "26 letters: the loss recorded after the last epoch (on the whole set, final weights)":
        "26 个字母：最后一轮之后记录的损失（在整个数据集上，用最终的权重）",
    "26 letters: the accuracy recorded after the last epoch":
        "26 个字母：最后一轮之后记录的准确率",
    "26 letters, previous four: the accuracy after 40 epochs":
        "26 个字母，看前四个：40 轮之后的准确率",
    "{key} after one epoch of one full batch (one Adam step)":
        "用一个完整批量训练一轮（一步 Adam）之后的 {key}",
    "predict_next(shift, \"a\", \"abcde\")": "predict_next(shift, \"a\", \"abcde\")",
    "predict_next(shift, \"e\", \"abcde\")": "predict_next(shift, \"e\", \"abcde\")",
    "predict_next(shift, \"dab\", \"abcde\")": "predict_next(shift, \"dab\", \"abcde\")",
    "the prediction comes from the state after the last letter, b":
        "预测来自最后一个字母 b 之后的状态",
    "z is not in 'abcde'": "z 不在 'abcde' 中",
    "there is no letter": "没有字母",
    "load_params should return a dict, got {type(loaded).__name__}":
        "load_params 应当返回一个 dict，"
        "得到的却是 {type(loaded).__name__}",
    "save_params did not write {path}": "save_params 没有写出 {path}",
    "the keys of a loaded random dict": "载入的随机 dict 的键",
    "{name}: the keys of the loaded dict": "{name}：载入的 dict 的键",
    "{name}: the predictions of the loaded copy": "{name}：载入的副本的预测",
    "'?' is not in the alphabet": "'?' 不在字母表中",
    "the dtype of the loaded {key}": "载入的 {key} 的 dtype",
    "the loaded {key}": "载入的 {key}",
    "{name}: the loaded {key}": "{name}：载入的 {key}",
    "predict_next(params, {letters}, {alphabet})": "predict_next(params, {letters}, {alphabet})",
    "{ALPHABET[V]} is not in {alphabet}": "{ALPHABET[V]} 不在 {alphabet} 中",

    # --------------------------------------------- solutions/04_rnnlm: the test cells' text
    "TimeEmbedding.backward should return None": "TimeEmbedding.backward 应当返回 None",
    "TimeEmbedding.forward([[3, 0, 3]])": "TimeEmbedding.forward([[3, 0, 3]])",
    "grads['W'] after backward of ids [[3, 0, 3]]":
        "对 id [[3, 0, 3]] 做反向传播之后的 grads['W']",
    "you wrote dW[ids] += dout: with a repeated id only its last occurrence counts. A "
    "word seen k times must receive the sum of its k gradient rows: use np.add.at":
        "你写的是 dW[ids] += dout：一个 id 重复出现时，"
        "只有它最后一次出现才算数。出现 k 次的词必须得到它那 k 行梯度之和："
        "请用 np.add.at",
    "grads['W'] after a second backward": "第二次反向传播之后的 grads['W']",
    "backward must add (+=) into grads['W']": "backward 必须把梯度累加（+=）到 grads['W'] 里",
    "TimeEmbedding.forward (V={V}, D={D}, N={N}, T={T})":
        "TimeEmbedding.forward（V={V}，D={D}，N={N}，"
        "T={T}）",
    "TimeEmbedding grads['W'] (V={V}, D={D}, N={N}, T={T})":
        "TimeEmbedding 的 grads['W']（V={V}，D={D}，"
        "N={N}，T={T}）",
    "TimeRNN.forward on [1, 2]": "在 [1, 2] 上调用 TimeRNN.forward",
    "self.h after forward": "forward 之后的 self.h",
    "keep the last state h_T in self.h": "把最后的状态 h_T 保存在 self.h 中",
    "the states of a first forward call (steps 1-3)": "第一次调用 forward 得到的状态（第 1-3 步）",
    "the states of a second forward call (steps 4-6)":
        "第二次调用 forward 得到的状态（第 4-6 步）",
    "you are not carrying the hidden state between batches: the second forward call "
    "started again from zeros instead of from self.h, the last state of the first call":
        "你没有在批量之间传递隐状态：第二次调用 forward 又从零开始了，"
        "而本应从 self.h，也就是第一次调用的最后状态开始",
    "the states after reset_state()": "reset_state() 之后的状态",
    "reset_state() must make the next call start from zeros":
        "reset_state() 必须让下一次调用从零开始",
    "a layer with stateful=False, second call": "stateful=False 的层，第二次调用",
    "with stateful=False every call starts from zeros": "stateful=False 时每次调用都从零开始",
    "TimeRNN.forward after reset_state (N={N}, T={T})":
        "reset_state 之后的 TimeRNN.forward（N={N}，"
        "T={T}）",
    "TimeRNN.forward, call {call + 1} in a row (N={N}, T={T}, D={D}, H={H})":
        "连续第 {call + 1} 次调用 TimeRNN.forward（N={N}"
        "，T={T}，D={D}，H={H}）",
    "self.h after call {call + 1} (N={N}, T={T}, D={D}, H={H})":
        "第 {call + 1} 次调用之后的 self.h（N={N}，T={T}，"
        "D={D}，H={H}）",
    "dxs": "dxs",
    "dxs at the last step compared with the numerical gradient": "最后一步的 dxs 与数值梯度的比较",
    "at the last step only dhs[:, -1] comes in: check the derivative of tanh, 1 - h_t ** "
    "2, and the product with Wx transposed":
        "最后一步只有 dhs[:, -1] 传进来："
        "请检查 tanh 的导数 1 - h_t ** 2，以及与 Wx 的转置的乘积",
    "dxs compared with the numerical gradient": "dxs 与数值梯度的比较",
    "the last step is right, earlier steps are not: h_t also feeds step t + 1, so its "
    "gradient is dhs[:, t] plus the gradient coming back from step t + 1":
        "最后一步对了，前面的步不对：h_t 还要送入第 t + 1 步，"
        "所以它的梯度是 dhs[:, t] 加上从第 t + 1 步传回来的梯度",
    "self.dh (gradient with respect to the initial state)": "self.dh（关于初始状态的梯度）",
    "grads['{key}'] compared with the numerical gradient": "grads['{key}'] 与数值梯度的比较",
    "the parameters are shared by all steps: add their gradients":
        "参数由所有时间步共享：要把各步的梯度加起来",
    "TimeRNN.backward, call {call + 1} (N={N}, T={T}, D={D}, H={H}): dxs":
        "TimeRNN.backward，第 {call + 1} 次调用（N={N}，"
        "T={T}，D={D}，H={H}）：dxs",
    "TimeRNN.backward, call {call + 1} (N={N}, T={T}, D={D}, H={H}): self.dh":
        "TimeRNN.backward，第 {call + 1} 次调用（N={N}，"
        "T={T}，D={D}，H={H}）：self.dh",
    "TimeRNN.backward, call {call + 1} (N={N}, T={T}, D={D}, H={H}): grads['{key}'] "
    "(accumulated)":
        "TimeRNN.backward，第 {call + 1} 次调用（N={N}，"
        "T={T}，D={D}，H={H}）：grads['{key}']（累加后）",
    "TimeAffine.forward": "TimeAffine.forward",
    "TimeAffine.backward: dxs": "TimeAffine.backward：dxs",
    "db sums dout over all N*T positions": "db 是 dout 在全部 N*T 个位置上的和",
    "TimeAffine (N={N}, T={T}, H={H}, V={V}): forward":
        "TimeAffine（N={N}，T={T}，H={H}，V={V}）："
        "forward",
    "TimeAffine (N={N}, T={T}, H={H}, V={V}): dxs":
        "TimeAffine（N={N}，T={T}，H={H}，V={V}）：dxs",
    "TimeAffine (N={N}, T={T}, H={H}, V={V}): grads['W']":
        "TimeAffine（N={N}，T={T}，H={H}，V={V}）："
        "grads['W']",
    "TimeAffine (N={N}, T={T}, H={H}, V={V}): grads['b']":
        "TimeAffine（N={N}，T={T}，H={H}，V={V}）："
        "grads['b']",
    "the loss of [[0, 1]]": "[[0, 1]] 的损失",
    "the gradient of the loss": "损失的梯度",
    "the gradient for dout = 2": "dout = 2 时的梯度",
    "you ignored dout: backward(dout) returns dout times the gradient of the loss":
        "你忽略了 dout：backward(dout) 返回的是 dout 乘以损失的"
        "梯度",
    "the loss when the second target is -1": "第二个目标为 -1 时的损失",
    "you divided by N*T, the number of all positions, instead of the number of scored "
    "positions (targets different from -1)":
        "你除以的是 N*T，即全部位置的个数，而应除以参与计分的位置个数（目标不为 -1"
        " 的位置）",
    "you scored the ignored position too: a target of -1 counts neither in the sum nor "
    "in M":
        "你把被忽略的位置也算了分：目标为 -1 的位置既不计入总和，也不计入 M",
    "the gradient when the second target is -1": "第二个目标为 -1 时的梯度",
    "ignored positions get a zero gradient": "被忽略的位置梯度为零",
    "{name} is {np.asarray(value)}: it looks like softmax without subtracting the "
    "maximum: np.exp of scores around 1000 overflows to inf and the loss or its gradient "
    "becomes inf or NaN. Subtract the maximum of each row before np.exp (the softmax "
    "does not change).":
        "{name} 是 {np.asarray(value)}："
        "看起来是没有减去最大值的 softmax："
        "分数在 1000 左右时 np.exp 会上溢成 inf，"
        "损失或它的梯度就变成 inf 或 NaN。"
        "请在 np.exp 之前减去每一行的最大值（softmax 的结果不变）。",
    "the loss of scores around 1000": "分数在 1000 左右时的损失",
    "the loss of scores around 1000 (xs + 1000)": "分数在 1000 左右时的损失（xs + 1000）",
    "the gradient for scores around 1000": "分数在 1000 左右时的梯度",
    "TimeSoftmaxWithLoss (N={N}, T={T}, V={V}, {int((ts == -1).sum())} ignored): the loss":
        "TimeSoftmaxWithLoss（N={N}，T={T}，V={V}，"
        "忽略 {int((ts == -1).sum())} 个）：损失",
    "TimeSoftmaxWithLoss (N={N}, T={T}, V={V}, {int((ts == -1).sum())} ignored): the "
    "gradient":
        "TimeSoftmaxWithLoss（N={N}，T={T}，V={V}，"
        "忽略 {int((ts == -1).sum())} 个）：梯度",
    "TimeSoftmaxWithLoss (N={N}, T={T}, V={V}, {int((ts == -1).sum())} ignored): the "
    "gradient (dout = {dout})":
        "TimeSoftmaxWithLoss（N={N}，T={T}，V={V}，"
        "忽略 {int((ts == -1).sum())} 个）："
        "梯度（dout = {dout}）",
    "you divided C by N, but the N streams share the C - 1 (input, target) pairs: the "
    "jump is (C - 1) // N":
        "你用 C 除以了 N，但 N 条数据流共享的是 C - 1 个（输入，目标）对："
        "跳跃的步长是 (C - 1) // N",
    "sequential_batch(corpus, 2, 3, k=0): xs": "sequential_batch(corpus, 2, 3, k=0)：xs",
    "sequential_batch(corpus, 2, 3, k=0): ts": "sequential_batch(corpus, 2, 3, k=0)：ts",
    "sequential_batch(corpus, 2, 3, k=1): xs": "sequential_batch(corpus, 2, 3, k=1)：xs",
    "positions wrap around modulo C - 1 = 10": "位置要按模 C - 1 = 10 回绕",
    "sequential_batch(corpus, 2, 3, k=1): ts": "sequential_batch(corpus, 2, 3, k=1)：ts",
    "sequential_batch(corpus, 2, 3, k=1) raised IndexError ({error}): the second row "
    "reads past the end of the corpus; positions wrap around modulo C - 1 = 10":
        "sequential_batch(corpus, 2, 3, k=1) 抛出了 "
        "IndexError（{error}）：第二行读到了语料库末尾之外；"
        "位置要按模 C - 1 = 10 回绕",
    "sequential_batch(corpus of {C}, {N}, {T}, k={k}): xs":
        "sequential_batch(长为 {C} 的语料库, {N}, {T}, "
        "k={k})：xs",
    "sequential_batch(corpus of {C}, {N}, {T}, k={k}): ts":
        "sequential_batch(长为 {C} 的语料库, {N}, {T}, "
        "k={k})：ts",
    "a mean of exponentials (exp of every batch loss, then the mean): perplexity is the "
    "exponential of the mean cross-entropy, exp(mean(losses)), which is smaller":
        "先取指数再平均（对每个批量的损失取 exp，再求平均）："
        "困惑度是平均交叉熵的指数 exp(mean(losses))，它更小",
    "the exponential of the sum of the batch losses: perplexity is the exponential of "
    "their mean":
        "各批量损失之和的指数：困惑度是它们平均值的指数",
    "perplexity of {len(losses)} batch losses": "{len(losses)} 个批量损失的困惑度",
    "perplexity of a list of {len(losses)} batch losses":
        "由 {len(losses)} 个批量损失组成的列表的困惑度",
    "the loss of the untrained model is {first}; it should be close to log(V) = "
    "{np.log(V)} (every word about equally likely): check the initial weights":
        "未训练模型的损失是 {first}；它应当接近 log(V) = {np.log"
        "(V)}（每个词的可能性大致相同）：请检查初始权重",
    "after {len(history['loss'])} epochs ({history['seconds']} s) the training "
    "perplexity is {final}, above the target {THRESHOLD}. Check that the RNN carries its "
    "state between batches and that backward adds the gradients of every step.":
        "训练了 {len(history['loss'])} 轮（{history['s"
        "econds']} 秒）之后训练集困惑度为 {final}，"
        "高于目标 {THRESHOLD}。请检查 RNN 是否在批量之间传递状态，"
        "以及 backward 是否把每一步的梯度都加了起来。",
    "the parameter names of SimpleRnnlm": "SimpleRnnlm 的参数名",
    "embed.W": "embed.W",
    "affine.W": "affine.W",
    "the loss of the first batch again, after reset_state()":
        "reset_state() 之后再算一次第一个批量的损失",
    "SimpleRnnlm.reset_state() must reset the RNN's state, so that the next batch starts "
    "from zeros":
        "SimpleRnnlm.reset_state() 必须重置 RNN 的状态，"
        "使下一个批量从零开始",
    "SimpleRnnlm(V={V}, D={D}, H={H}, seed={seed}): loss after reset_state()":
        "SimpleRnnlm(V={V}, D={D}, H={H}, seed={s"
        "eed})：reset_state() 之后的损失",
    "SimpleRnnlm(V={V}, D={D}, H={H}, seed={seed}): initial {key}":
        "SimpleRnnlm(V={V}, D={D}, H={H}, seed={s"
        "eed})：初始的 {key}",
    "SimpleRnnlm(V={V}, D={D}, H={H}, seed={seed}): loss, batch {call + 1}":
        "SimpleRnnlm(V={V}, D={D}, H={H}, seed={s"
        "eed})：第 {call + 1} 个批量的损失",
    "SimpleRnnlm(V={V}, D={D}, H={H}, seed={seed}): gradient of {key}, batch {call + 1}":
        "SimpleRnnlm(V={V}, D={D}, H={H}, seed={s"
        "eed})：第 {call + 1} 个批量上 {key} 的梯度",

    # ---------------------------------------------- solutions/05_mrnn: the test cells' text
    "two calls with the same generator should give new noise":
        "用同一个生成器调用两次应得到不同的噪声",
    "gumbel_noise((2, 3), np.random.default_rng(0))":
        "gumbel_noise((2, 3), np.random.default_r"
        "ng(0))",
    "you used -log(U), which is exponential noise, not Gumbel noise: take the logarithm "
    "twice, g = -log(-log U)":
        "你用的是 -log(U)，这是指数分布的噪声，不是 Gumbel 噪声："
        "要取两次对数，g = -log(-log U)",
    "you forgot the minus sign in front: g = -log(-log U)": "你漏掉了前面的负号：g = -log(-log U)",
    "you called rng.gumbel (or drew U another way): transform the numbers of one call "
    "rng.random(shape)":
        "你调用了 rng.gumbel（或者用别的方式抽取了 U）："
        "请变换一次 rng.random(shape) 调用所得的数",
    "gumbel_noise((20000, 4), rng)": "gumbel_noise((20000, 4), rng)",
    "the frequencies of argmax(log q + g) over 20,000 draws":
        "20,000 次抽样中 argmax(log q + g) 的频率",
    "the Gumbel-max trick only works with Gumbel noise": "Gumbel 最大值技巧只对 Gumbel 噪声成立",
    "the mean of 20,000 Gumbel numbers (Euler's constant 0.5772)":
        "20,000 个 Gumbel 随机数的均值（欧拉常数 0.5772）",
    "gumbel_noise({shape}, np.random.default_rng({seed}))":
        "gumbel_noise({shape}, np.random.default_"
        "rng({seed}))",
    "Gumbel-max frequencies for q = {q.tolist()}": "q = {q.tolist()} 时 Gumbel 最大值技巧的频率",
    "at tau = 0.01 most samples should be nearly one-hot":
        "tau = 0.01 时大多数样本应当几乎是独热编码",
    "gumbel_softmax(log [0.5, 0.3, 0.2], g = [0.1, 0.7, -0.3], tau = 0.5)":
        "gumbel_softmax(log [0.5, 0.3, 0.2], g = "
        "[0.1, 0.7, -0.3], tau = 0.5)",
    "you forgot to divide by the temperature tau": "你忘了除以温度 tau",
    "you multiplied by tau instead of dividing": "你乘了 tau，而不是除以它",
    "you divided only the noise by tau: divide the sum (logits + noise)":
        "你只把噪声除以了 tau：要除的是和 (logits + noise)",
    "gumbel_softmax at tau = 0.01": "tau = 0.01 时的 gumbel_softmax",
    "a low temperature should give (nearly) the one-hot code of argmax(logits + noise)":
        "低温时应当得到（几乎是）argmax(logits + noise) 的独热编码",
    "gumbel_softmax at tau = 1000": "tau = 1000 时的 gumbel_softmax",
    "a high temperature should give a (nearly) uniform vector": "高温时应当得到（几乎）均匀的向量",
    "gumbel_softmax of (20000, 3) arrays": "(20000, 3) 数组上的 gumbel_softmax",
    "the rows of z should sum to 1": "z 的每一行之和应为 1",
    "the frequencies of argmax z over 20,000 samples": "20,000 个样本中 argmax z 的频率",
    "gumbel_softmax of (2, 3, 4) arrays": "(2, 3, 4) 数组上的 gumbel_softmax",
    "gumbel_softmax of large logits": "很大的 logits 上的 gumbel_softmax",
    "gumbel_softmax of ({N}, {K}) arrays at tau = {tau}":
        "({N}, {K}) 数组上 tau = {tau} 时的 gumbel_sof"
        "tmax",
    "the logits after gumbel_softmax (they must not change)":
        "gumbel_softmax 之后的 logits（它们不能被改变）",
    "the noise after gumbel_softmax (it must not change)":
        "gumbel_softmax 之后的噪声（它不能被改变）",
    "state_probabilities for N = 2, D = H = 2, K = 3":
        "N = 2、D = H = 2、K = 3 时的 state_probabili"
        "ties",
    "you forgot the bias bz": "你忘了偏置 bz",
    "you returned the logits a, not the probabilities softmax(a)":
        "你返回的是 logits a，而不是概率 softmax(a)",
    "you concatenated [h ; x]: the first D rows of Wz read x":
        "你拼接成了 [h ; x]：Wz 的前 D 行读的是 x",
    "the rows of q should sum to 1": "q 的每一行之和应为 1",
    "state_probabilities with N={N}, K={K}, D={D}, H={H}":
        "state_probabilities，N={N}，K={K}，D={D}，"
        "H={H}",
    "z (tau = 0.5)": "z（tau = 0.5）",
    "z = softmax((log q + noise) / tau), your gumbel_softmax of Question 2":
        "z = softmax((log q + noise) / tau)，"
        "也就是你在第 2 题写的 gumbel_softmax",
    "hks (N, K, H)": "hks (N, K, H)",
    "hks": "hks",
    "h (tau = 0.5)": "h（tau = 0.5）",
    "you mixed the encoders with q instead of the sample z":
        "你用 q 而不是样本 z 来混合各个编码器",
    "you mixed before the tanh: mix the encoder outputs h_t^k":
        "你在 tanh 之前就做了混合：要混合的是编码器的输出 h_t^k",
    "z when evaluating (noise is None): the one-hot code of argmax q":
        "评估时（noise 为 None）的 z：argmax q 的独热编码",
    "you returned q itself: when evaluating, z is the one-hot code of the most probable "
    "state":
        "你直接返回了 q：评估时 z 是最可能状态的独热编码",
    "h when evaluating: the output of the most probable encoder":
        "评估时的 h：最可能的那个编码器的输出",
    "q (N={N}, K={K}, D={D}, H={H}, tau={tau})": "q（N={N}，K={K}，D={D}，H={H}，tau={tau}）",
    "q (N={N}, K={K}, D={D}, H={H}, evaluating)": "q（N={N}，K={K}，D={D}，H={H}，评估）",
    "z (N={N}, K={K}, D={D}, H={H}, tau={tau})": "z（N={N}，K={K}，D={D}，H={H}，tau={tau}）",
    "z (N={N}, K={K}, D={D}, H={H}, evaluating)": "z（N={N}，K={K}，D={D}，H={H}，评估）",
    "hks (N={N}, K={K}, D={D}, H={H}, tau={tau})": "hks（N={N}，K={K}，D={D}，H={H}，tau={tau}）",
    "hks (N={N}, K={K}, D={D}, H={H}, evaluating)": "hks（N={N}，K={K}，D={D}，H={H}，评估）",
    "h (N={N}, K={K}, D={D}, H={H}, tau={tau})": "h（N={N}，K={K}，D={D}，H={H}，tau={tau}）",
    "h (N={N}, K={K}, D={D}, H={H}, evaluating)": "h（N={N}，K={K}，D={D}，H={H}，评估）",
    "the gradient of the mixture with respect to the logits: relative error {error}":
        "混合结果关于 logits 的梯度：相对误差 {error}",
    "dz": "dz",
    "dhks": "dhks",
    "dz compared with the numerical gradient": "dz 与数值梯度的比较",
    "dhks compared with the numerical gradient": "dhks 与数值梯度的比较",
    "you gave every encoder the whole dh: multiply by its weight z_k":
        "你把整个 dh 都给了每个编码器：要乘以它的权重 z_k",
    "gumbel_softmax_backward compared with the numerical gradient":
        "gumbel_softmax_backward 与数值梯度的比较",
    "you forgot the factor 1/tau of the chain rule": "你忘了链式法则带来的因子 1/tau",
    "you used only the diagonal of the softmax Jacobian, z_k (1 - z_k)":
        "你只用了 softmax 雅可比矩阵的对角线 z_k (1 - z_k)",
    "dz (N={N}, K={K}, H={H})": "dz（N={N}，K={K}，H={H}）",
    "dhks (N={N}, K={K}, H={H})": "dhks（N={N}，K={K}，H={H}）",
    "gumbel_softmax_backward (N={N}, K={K}, H={H}, tau={tau})":
        "gumbel_softmax_backward（N={N}，K={K}，"
        "H={H}，tau={tau}）",
    "entropy of q = [0.5, 0.25, 0.25] and uniform q": "q = [0.5, 0.25, 0.25] 和均匀分布 q 的熵",
    "you used dH/dq = -(log q + 1) without the softmax's Jacobian":
        "你用了 dH/dq = -(log q + 1)，"
        "却没有乘 softmax 的雅可比矩阵",
    "you kept only the diagonal of the softmax Jacobian": "你只保留了 softmax 雅可比矩阵的对角线",
    "you computed the gradient of -H (the sign is flipped)": "你算的是 -H 的梯度（符号反了）",
    "entropy_grad compared with the numerical gradient": "entropy_grad 与数值梯度的比较",
    "the entropy of logits [0, -1000] (q = [1, 0])": "logits 为 [0, -1000]（q = [1, 0]）时的熵",
    "0 log 0 counts as 0: use the log-softmax": "0 log 0 按 0 计算：请使用 log-softmax",
    "entropy_grad of logits [0, -1000]": "logits 为 [0, -1000] 时的 entropy_grad",
    "entropy of logits with underflowing probabilities": "概率下溢时 logits 的熵",
    "entropy_grad with underflowing probabilities": "概率下溢时的 entropy_grad",
    "entropy of logits of shape {shape}": "形状为 {shape} 的 logits 的熵",
    "kl_uniform of logits of shape {shape}": "形状为 {shape} 的 logits 的 kl_uniform",
    "entropy_grad of logits of shape {shape}": "形状为 {shape} 的 logits 的 entropy_grad",
    "the logits after your functions (they must not change)":
        "调用你的函数之后的 logits（它们不能被改变）",
    "the schedule is not clipped at tau_min: take the max with tau_min":
        "温度没有在 tau_min 处截断：要与 tau_min 取最大值",
    "you counted epochs from 1: epoch 0 must train at tau0":
        "你从 1 开始数轮次：第 0 轮必须以 tau0 训练",
    "you took the min with tau_min instead of the max": "你与 tau_min 取了最小值，而不是最大值",
    "temperature(2, tau0=1, rate=0.5, tau_min=0.5)":
        "temperature(2, tau0=1, rate=0.5, tau_min"
        "=0.5)",
    "the type of temperature(3)": "temperature(3) 的类型",
    "return a Python float: float(...) turns a NumPy float64 into one":
        "请返回 Python 的 float：float(...) 能把 NumPy 的"
        " float64 转成它",
    "temperature": "temperature",
    "epochs are counted from 0": "轮次从 0 开始计数",
    "temperature({e}, tau0={tau0}, rate={rate}, tau_min={tau_min})":
        "temperature({e}, tau0={tau0}, rate={rate"
        "}, tau_min={tau_min})",
    "temperature with keyword arguments": "用关键字参数调用 temperature",

    # ---------------------------------------- solutions/06_tang_poems: the test cells' text
    "you forgot the end token EOS after the last line": "你忘了在最后一句之后加上结束词元 EOS",
    "the punctuation is the wrong way round: a comma after lines 1 and 3, a full stop "
    "after lines 2 and 4":
        "标点放反了：第 1、3 句之后是逗号，第 2、4 句之后是句号",
    "a whole line became one token: the tokens are single characters":
        "一整句变成了一个词元：词元应当是单个的字",
    "the number of tokens of a seven-character quatrain (4 x 7 + 4 + 1)":
        "一首七言绝句的词元个数（4 x 7 + 4 + 1）",
    "build_vocabulary(two poems, min_count=2)": "build_vocabulary(两首诗, min_count=2)",
    "characters seen exactly min_count times were left out: keep those seen AT LEAST "
    "min_count times":
        "恰好出现 min_count 次的字被漏掉了："
        "出现次数至少为 min_count 的字都要保留",
    "the special tokens are missing: the vocabulary starts with SPECIALS":
        "缺少特殊词元：词表要以 SPECIALS 开头",
    "characters seen equally often are in the order they first appear (as "
    "Counter.most_common gives them): sort them by the characters themselves":
        "出现次数相同的字按首次出现的顺序排列了（Counter.most_common "
        "给出的就是这个顺序）：请按字本身排序",
    "the first nine entries when 明 is seen 5 times, 处 and 山 3 times, 头 and 月 twice":
        "“明”出现 5 次、“处”和“山”各 3 次、“头”和“月”各 2 次时的前九项",
    "the most frequent characters first; ties in sorted order of the characters":
        "出现次数多的字在前；次数相同时按字排序",
    "the size of the vocabulary of these three poems with min_count=1 (37 different "
    "characters)":
        "这三首诗在 min_count=1 时的词表大小（37 个不同的字）",
    "build_vocabulary({n_poems} poems, min_count={min_count})":
        "build_vocabulary({n_poems} 首诗, min_count"
        "={min_count})",
    "at temperature 0, take the index of the largest score": "温度为 0 时，取分数最大的下标",
    "you multiplied the scores by the temperature: divide them by it":
        "你把分数乘以了温度：应当除以温度",
    "of equal largest scores, take the first": "有多个并列最大的分数时，取第一个",
    "scores / 0.01 overflow np.exp: subtract the largest score first (softmax is "
    "unchanged by a constant)":
        "scores / 0.01 会使 np.exp 上溢："
        "先减去最大的分数（softmax 不受常数平移影响）",
    "np.exp(1000) is infinite: subtract the largest score first":
        "np.exp(1000) 是无穷大：先减去最大的分数",
    "sample_next at u just below 1": "u 略小于 1 时的 sample_next",
    "if rounding leaves no k with u < p_0 + ... + p_k, return the last index":
        "如果舍入误差使得没有 k 满足 u < p_0 + ... + p_k，"
        "就返回最后一个下标",
    "sample_next returns an integer index": "sample_next 返回整数下标",
    "return the first k with u < p_0 + ... + p_k": "返回满足 u < p_0 + ... + p_k 的第一个 k",
    "sample_next(scores of length {V}, {temperature}, u={u})":
        "sample_next(长为 {V} 的分数, {temperature}, u"
        "={u})",
    "write_poem(tiny model, opening [0, 1], temperature 0)":
        "write_poem(小模型, 开头 [0, 1], 温度 0)",
    "the state restarts from zeros at every character: carry h from one character to the "
    "next":
        "每个字都让状态从零重新开始：要把 h 从一个字传到下一个字",
    "the state restarts from zeros at every new character: carry h from one character to "
    "the next, the opening's and the new ones alike":
        "每个新字都让状态从零重新开始：要把 h 从一个字传到下一个字，"
        "开头的字和新写的字都一样",
    "only the last id of the opening was read: read every one of them, in order":
        "只读了开头的最后一个 id：要按顺序把它们全部读一遍",
    "the end id was left out: append it, then stop": "漏掉了结束 id：先把它加上，再停止",
    "the opening is in the result: return only the new ids": "结果里包含了开头：只返回新写的 id",
    "write_poem with max_new=2": "max_new=2 时的 write_poem",
    "write at most max_new ids": "最多写 max_new 个 id",
    "write_poem(tiny model, opening [0, 1], temperature 1, np.random.default_rng(7))":
        "write_poem(小模型, 开头 [0, 1], 温度 1, np.rand"
        "om.default_rng(7))",
    "draw one rng.random() per new id and pass it to sample_next":
        "每写一个新 id 就抽取一次 rng.random()，"
        "并把它传给 sample_next",
    "the next number of rng after writing 6 ids (6 draws)":
        "写出 6 个 id（抽取 6 次）之后 rng 的下一个数",
    "use exactly one rng.random() per new id, none for the opening":
        "每个新 id 恰好用一次 rng.random()，开头不用",
    "write_poem (V={V}, H={H}, opening {opening}, eos {eos_id}, max_new {max_new}, "
    "temperature {temperature})":
        "write_poem（V={V}，H={H}，开头 {opening}，"
        "结束 id {eos_id}，max_new {max_new}，"
        "温度 {temperature}）",
    "seven characters a line is a quatrain too": "每句七个字的也是绝句",
    "the lines must all have the same length": "各句的长度必须相同",
    "the marks must come in the order ，。，。": "标点必须按 ，。，。 的顺序出现",
    "a quatrain has four lines": "绝句有四句",
    "lines of 5 or 7 characters only": "每句只能是 5 个字或 7 个字",
    "the last line must end with 。": "最后一句必须以 。 结尾",
    "nothing may follow the last 。": "最后一个 。 之后不能再有内容",
    "an empty text is no poem": "空文本不是诗",
}
